#!/usr/bin/env bash
# scripts/services from checkouts the tests' server must work in: a path longer than a unix socket
# may be, a directory under $HOME (as root: /root, which the postgres user cannot enter), and two
# checkouts at once, each on its own free port. Usage: services_anywhere.sh SOURCE_DIR WORK_DIR
set -euo pipefail
source_dir=$1 work=$2
long="$work/a-directory-name-long-enough-to-matter-0123456789/another-one-of-the-same-kind-0123456789/and-a-third-0123456789/checkout"
if [[ $(id -u) == 0 ]]; then home_dir="$HOME/.tributary-services-test-$$"; else home_dir="$work/home"; fi
checkouts=("$long" "$home_dir/checkout")
cleanup() {
  for c in "${checkouts[@]}"; do [[ -x "$c/scripts/services" ]] && "$c/scripts/services" stop >/dev/null 2>&1 || true; done
  rm -rf "$work" "$home_dir"
}
trap cleanup EXIT
rm -rf "$work"
for c in "${checkouts[@]}"; do
  mkdir -p "$c/scripts"
  cp "$source_dir/scripts/services" "$c/scripts/"
done
(( ${#long} > 120 )) || { echo "the long path is only ${#long} bytes" >&2; exit 1; }
# Both at once.
pids=()
for c in "${checkouts[@]}"; do "$c/scripts/services" start & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
urls=()
for c in "${checkouts[@]}"; do
  url=$(sed -n 's/^TRIBUTARY_POSTGRES_URL=//p' "$c/build/services/env")
  [[ -n "$url" ]] || { echo "no URL written for $c" >&2; exit 1; }
  [[ $(psql "$url" -tAc 'select 1') == 1 ]] || { echo "the server of $c does not answer at $url" >&2; exit 1; }
  urls+=("$url")
done
[[ "${urls[0]}" != "${urls[1]}" ]] || { echo "two checkouts share ${urls[0]}" >&2; exit 1; }
# Stopping one leaves the other running.
"${checkouts[0]}/scripts/services" stop
[[ $(psql "${urls[1]}" -tAc 'select 1') == 1 ]] || { echo "stopping one checkout's server stopped the other's" >&2; exit 1; }
if psql "${urls[0]}" -tAc 'select 1' >/dev/null 2>&1; then echo "the stopped server still answers" >&2; exit 1; fi
echo "services anywhere: ok (${urls[*]})"
