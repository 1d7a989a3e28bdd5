#!/bin/sh
# The stand-in stack's component control: ctl.sh ROOT PORT (start|stop|restart) (service|media|all)
set -eu
root=$1; port=$2; action=$3; which=$4
here=$root/current
start_one() {
    name=$1
    pid=$root/run/$name.pid
    if [ -f "$pid" ] && kill -0 "$(cat "$pid")" 2>/dev/null; then return 0; fi
    if [ "$name" = service ]; then
        nohup python3 "$here/service.py" "$root" "$port" >>"$root/logs/service.log" 2>&1 &
    else
        nohup python3 "$here/media.py" >>"$root/logs/media.log" 2>&1 &
    fi
    echo $! > "$pid"
}
stop_one() {
    pid=$root/run/$1.pid
    if [ -f "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; rm -f "$pid"; fi
}
names=$which; [ "$which" = all ] && names="media service"
for n in $names; do
    case $action in
        start) start_one "$n";;
        stop) stop_one "$n";;
        restart) stop_one "$n"; start_one "$n";;
    esac
done
if [ "$action" != stop ] && [ "$which" != media ]; then
    i=0; while [ $i -lt 50 ]; do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && exit 0
        i=$((i+1)); sleep 0.1
    done
    echo "service did not listen on $port" >&2; exit 1
fi
