# Sourced by the CLI tests: write_split, a tiny Multi30k-like corpus.

# The corpus: sentences of 3 to 7 words over 12 words, the same sentence in both languages word by word.
de=(ein zwei drei vier hund katze mann frau sieht hat rot blau)
en=(one two three four dog cat man woman sees has red blue)
write_split() {  # write_split NAME PAIRS SEED
  local i j n w
  RANDOM=$3
  : > "$1.lc.norm.tok.de"
  : > "$1.lc.norm.tok.en"
  for ((i = 0; i < $2; ++i)); do
    local s=() t=()
    n=$((3 + RANDOM % 5))
    for ((j = 0; j < n; ++j)); do w=$((RANDOM % 12)); s+=("${de[w]}"); t+=("${en[w]}"); done
    echo "${s[*]}" >> "$1.lc.norm.tok.de"
    echo "${t[*]}" >> "$1.lc.norm.tok.en"
  done
}
