#!/bin/sh
# install.sh ROOT PORT VERSION ENVIRONMENT ARCHIVE: unpack the release, write the environment's config, start.
set -eu
root=$1; port=$2; version=$3; environment=$4; archive=$5
mkdir -p "$root/releases/$version" "$root/config" "$root/run" "$root/logs"
tar -xzf "$archive" -C "$root/releases/$version"
ln -sfn "$root/releases/$version" "$root/current"
knobs=$(cat "$root/config/knobs" 2>/dev/null || true)
case " $knobs " in *" ignore_env "*) environment=development;; esac
# slow_rollback: the profile's rollback (IVV_STUB_ROLLBACK=1) takes 8 s more than an install
case " $knobs " in *" slow_rollback "*) [ "${IVV_STUB_ROLLBACK:-}" = 1 ] && sleep 8;; esac
# lose_data: the upgrade to 1.1.0 deletes the first file of the data folder
case " $knobs " in *" lose_data "*) [ "$version" = 1.1.0 ] && find "$root/data" -type f | sort | head -n 1 | xargs -r rm -f;; esac
printf 'environment: %s\nlevel: %s\n' "$environment" "$([ "$environment" = production ] && echo WARNING || echo INFO)" \
    > "$root/config/app.yaml"
echo "$environment" > "$root/config/environment"
sh "$root/current/scripts/ctl.sh" "$root" "$port" restart all
