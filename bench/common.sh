# Argument checks shared by the bench scripts (sourced, not run).

# need_uint NAME VALUE MIN [MESSAGE]: VALUE must be an integer >= MIN, else MESSAGE (or a
# default one) and exit 2.
need_uint() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then
    echo "${4:-$1 must be an integer >= $3}" >&2
    exit 2
  fi
}

# need_bin PATH: the spinescreen executable must exist.
need_bin() {
  if [ ! -x "$1" ]; then
    echo "no spinescreen executable at $1 (build first, or set SPINESCREEN)" >&2
    exit 2
  fi
}
