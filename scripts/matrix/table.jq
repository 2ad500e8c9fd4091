# The kernel matrix as text: one row per profile, one column per kernel, then
# why each refused or failed profile did so, and the rate scaling used.
def pad($n): tostring | . + " " * ([$n - length, 0] | max);
def cell: if .result == "passed" then "passed (unexplained \(.unexplained // "?"))"
          elif .result == "refused" then "refused" else "FAILED" end;
.kernels as $k
| ($k[0].profiles | map(.name)) as $names
| ([$names[] | length] + [16] | max + 2) as $w
| ([$k[] | [.profiles[] | cell | length] + [.release | length] | max] | map(. + 2)) as $cw
| ("profile" | pad($w)) + ([range($k | length) as $j | ($k[$j].release | pad($cw[$j]))] | join("")),
  ($names | to_entries[] | .key as $i
   | (.value | pad($w)) + ([range($k | length) as $j | ($k[$j].profiles[$i] | cell | pad($cw[$j]))] | join(""))),
  "",
  ($k[] | .release as $r | .package as $p
   | "\($r): \($p)" + (if .rate_scale < 1 then ", under emulation: packet rates x\(.rate_scale), durations x\(.duration_scale) (expectations unchanged)" else "" end),
     (.profiles[] | select(.result != "passed") | "  \(.name) \(.result): \(.reason)"))
