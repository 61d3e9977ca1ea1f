#!/usr/bin/env bash
# scripts/services from checkouts the tests' server must work in: a path longer than a unix socket
# may be, a directory under $HOME (as root: /root, which the postgres user cannot enter), and two
# checkouts at once, each on its own free ports; PostgreSQL, Redis and RabbitMQ each answer. Usage: services_anywhere.sh SOURCE_DIR WORK_DIR
set -euo pipefail
source_dir=$1 work=$2
long="$work/a-directory-name-long-enough-to-matter-0123456789/another-one-of-the-same-kind-0123456789/and-a-third-0123456789/checkout"
if [[ $(id -u) == 0 ]]; then home_dir="$HOME/.tributary-services-test-$$"; else home_dir="$work/home"; fi
checkouts=("$long" "$home_dir/checkout")
cleanup() {
  local c pg_dir
  for c in "${checkouts[@]}"; do
    [[ -x "$c/scripts/services" ]] && "$c/scripts/services" stop >/dev/null 2>&1 || true
    # The servers' directories outside the checkout (named after PostgreSQL's), kept by stop for a restart.
    pg_dir=$(sed -n 2p "$c/build/services/postgres-home" 2>/dev/null || true)
    if [[ "$pg_dir" == */tributary-pg-* ]]; then
      rm -rf "$pg_dir" "${pg_dir/tributary-pg-/tributary-redis-}" "${pg_dir/tributary-pg-/tributary-mq-}"
    fi
  done
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
# Whether each server answers its own protocol: a query, PING, and AMQP's protocol header answered
# with a method frame (type 1: Connection.Start).
pg_answers() { [[ $(psql "$1" -tAc 'select 1' 2>/dev/null) == 1 ]]; }
redis_answers() {
  local hostport=${1#redis://}; hostport=${hostport%%/*}
  [[ $(redis-cli -h "${hostport%:*}" -p "${hostport#*:}" ping 2>/dev/null) == PONG ]]
}
amqp_answers() {
  local hostport=${1#*@}; hostport=${hostport%%/*}
  [[ $(exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" && printf 'AMQP\0\0\011\001' >&3 &&
       timeout 5 head -c 1 <&3 | od -An -tu1 | tr -d ' ') == 1 ]] 2>/dev/null
}
declare -A url
for c in 0 1; do
  for s in POSTGRES REDIS RABBITMQ; do
    url[$c,$s]=$(sed -n "s/^TRIBUTARY_${s}_URL=//p" "${checkouts[$c]}/build/services/env")
    [[ -n "${url[$c,$s]}" ]] || { echo "no $s URL written for ${checkouts[$c]}" >&2; exit 1; }
  done
  pg_answers "${url[$c,POSTGRES]}" || { echo "PostgreSQL of ${checkouts[$c]} does not answer" >&2; exit 1; }
  redis_answers "${url[$c,REDIS]}" || { echo "Redis of ${checkouts[$c]} does not answer" >&2; exit 1; }
  amqp_answers "${url[$c,RABBITMQ]}" || { echo "RabbitMQ of ${checkouts[$c]} does not answer" >&2; exit 1; }
done
for s in POSTGRES REDIS RABBITMQ; do
  [[ "${url[0,$s]}" != "${url[1,$s]}" ]] || { echo "two checkouts share ${url[0,$s]}" >&2; exit 1; }
done
# Stopping one leaves the other running.
"${checkouts[0]}/scripts/services" stop
pg_answers "${url[1,POSTGRES]}" && redis_answers "${url[1,REDIS]}" && amqp_answers "${url[1,RABBITMQ]}" ||
  { echo "stopping one checkout's servers stopped the other's" >&2; exit 1; }
if pg_answers "${url[0,POSTGRES]}" || redis_answers "${url[0,REDIS]}" || amqp_answers "${url[0,RABBITMQ]}"; then
  echo "a stopped server still answers" >&2; exit 1
fi
echo "services anywhere: ok"
