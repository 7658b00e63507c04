# Sourced by the CLI tests: write_tree, a tiny aclImdb tree (positive reviews use "good great fine
# lovely", negative "bad awful poor dull").

# write_tree DIR PER_CLASS: aclImdb/{train,test}/{pos,neg}/<i>_<rating>.txt under DIR.
write_tree() {
  local pos=(good great fine lovely) neg=(bad awful poor dull) filler=(the movie plot actor scene film)
  local split label i w text
  for split in train test; do
    for label in pos neg; do
      mkdir -p "$1/aclImdb/$split/$label"
      for ((i = 0; i < $2; ++i)); do
        text=""
        for ((w = 0; w < 6 + i % 9; ++w)); do
          if ((w % 3 == 1)); then
            if [[ $label == pos ]]; then text+="${pos[(i + w) % 4]} "; else text+="${neg[(i + w) % 4]} "; fi
          else
            text+="${filler[(i * 5 + w) % 6]} "
          fi
        done
        echo "$text<br /><br />The End." > "$1/aclImdb/$split/$label/${i}_$([[ $label == pos ]] && echo 8 || echo 3).txt"
      done
    done
  done
}
