#!/bin/sh
# Runs inside the new root file system (chroot) after the recipe files are copied in.
# Arguments: login user, its extra groups (comma separated), hostname, the image's SSH public key file.
set -eu
user="$1"; groups="$2"; hostname="$3"; pubkey="$4"

echo "$hostname" > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$hostname" > /etc/hosts
printf '/dev/vda\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' > /etc/fstab

id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups "$groups" "$user"

systemctl enable systemd-networkd.service systemd-resolved.service ssh.service >/dev/null 2>&1
ln -sf /run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
# The harness's login user may run anything as root without a password (device under test only).
printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$user" > /etc/sudoers.d/ivv-user
chmod 0440 /etc/sudoers.d/ivv-user

# The image's own key logs in as the user and as root; nothing else does.
for home in "/home/$user" /root; do
    install -d -m 0700 "$home/.ssh"
    install -m 0600 "$pubkey" "$home/.ssh/authorized_keys"
done
chown -R "$user:$user" "/home/$user/.ssh"
rm -f "$pubkey"

# No apt caches or package lists in the image: the device has no network beyond the harness.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/*
