"""The Debian package: built with cargo-deb around the binary the tests run (deploy/build-deb
--profile dev: the same assets and scripts as the release package), its contents and control
data checked, lintian without errors, the unit verified and rated by systemd-analyze, and a
whole install / reinstall / remove / purge with dpkg in a throwaway root (a mount namespace:
an overlay of the host's /usr and a copy of its /etc, so the host is never changed)."""

import os
import shutil
import stat
import subprocess
import textwrap

import pytest

from conftest import ROOT

DEB = ROOT / "target" / "debian" / "railgate_0.1.0-1_amd64.deb"
UNIT = ROOT / "deploy" / "railgate.service"


@pytest.fixture(scope="module")
def deb():
    if shutil.which("cargo-deb") is None and subprocess.run(["cargo", "deb", "--version"], capture_output=True).returncode:
        pytest.fail("cargo-deb is missing: tests/run installs it")
    r = subprocess.run([str(ROOT / "deploy" / "build-deb"), "--profile", "dev", "--no-build", "--fast"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert DEB.exists(), r.stdout + r.stderr
    return DEB


def test_the_package_holds_what_an_integrator_needs(deb):
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    files = {line.split()[-1].lstrip(".") : line.split()[0] for line in listing.splitlines()}
    for path, mode in [("/usr/bin/railgate", "-rwxr-xr-x"),
                       ("/usr/lib/railgate/railgate-start", "-rwxr-xr-x"),
                       ("/lib/systemd/system/railgate.service", "-rw-r--r--"),
                       ("/etc/railgate/railgate.yaml", "-rw-r--r--"),
                       ("/usr/share/polkit-1/rules.d/50-railgate.rules", "-rw-r--r--"),
                       ("/usr/share/doc/railgate/mappings.md", "-rw-r--r--"),
                       ("/usr/share/doc/railgate/railgate.example.yaml", "-rw-r--r--"),
                       ("/usr/share/doc/railgate/examples/99-railgate-rs485.rules", "-rw-r--r--"),
                       ("/usr/share/doc/railgate/profiles/dsc-it100.yaml", "-rw-r--r--"),
                       ("/usr/share/doc/railgate/copyright", "-rw-r--r--"),
                       ("/usr/share/man/man1/railgate.1.gz", "-rw-r--r--"),
                       ("/usr/share/doc/railgate/changelog.Debian.gz", "-rw-r--r--")]:
        assert files.get(path) == mode, (path, files.get(path))
    info = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Depends: adduser" in info and "postinst" in info and "postrm" in info and "prerm" in info
    package = subprocess.run(["dpkg-deb", "-f", str(deb), "Package"], capture_output=True, text=True).stdout
    assert package.strip() == "railgate"
    ctrl = subprocess.run(["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True).stdout
    listed = subprocess.run(["tar", "-xO", "./conffiles"], input=ctrl, capture_output=True, check=True).stdout
    assert listed.decode().split() == ["/etc/railgate/railgate.yaml"]


def test_the_manual_page_is_the_programs_own():
    """deploy/railgate.1 is `railgate man` (clap_mangen, from the same definition as --help):
    regenerate it with `target/debug/railgate man > deploy/railgate.1` when the options change."""
    from conftest import binary
    page = subprocess.run([str(binary()), "man"], capture_output=True, check=True).stdout
    assert page == (ROOT / "deploy" / "railgate.1").read_bytes()
    assert b"metrics\\-listen" in page and b".SH NAME" in page


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is missing (tests/run installs it)")
def test_lintian_reports_no_errors(deb):
    r = subprocess.run(["lintian", "--tag-display-limit", "0", str(deb)], capture_output=True, text=True, timeout=600)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    assert errors == [], r.stdout
    # The one override, with its reason in the file.
    assert "embedded-library libyaml" not in r.stdout


def test_the_unit_is_rated_ok_or_better():
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(UNIT)], capture_output=True, text=True, timeout=60)
    line = next(l for l in r.stdout.splitlines() if "Overall exposure level" in l)
    level = float(line.split(":")[1].split()[0])
    assert level <= 2.0, line
    text = UNIT.read_text()
    for setting in ["Type=notify", "WatchdogSec=", "User=railgate", "StateDirectory=railgate",
                    "ConfigurationDirectory=railgate", "LoadCredential=admin-password:",
                    "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                    "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
                    "CapabilityBoundingSet=\n", "DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw"]:
        assert setting in text, setting


INSTALL = textwrap.dedent("""\
    set -eu
    W=$1; DEB=$2; R=$W/root
    mkdir -p $R/usr $W/up $W/work $R/var/lib/dpkg/info $R/var/lib/dpkg/updates $R/tmp $R/dev $R/proc $R/run $R/var/log
    mount -t overlay overlay -o lowerdir=/usr,upperdir=$W/up,workdir=$W/work $R/usr
    for l in bin sbin lib lib64; do ln -s usr/$l $R/$l; done
    cp -a /etc $R/etc
    rm -rf $R/etc/railgate
    : > $R/var/lib/dpkg/status
    mount --bind /dev $R/dev
    mount -t proc proc $R/proc
    dpkg() { command dpkg --root=$R --force-depends --log=$R/var/log/dpkg.log "$@"; }
    dpkg -i $DEB > $W/install.log 2>&1
    systemd-analyze verify --root=$R /lib/systemd/system/railgate.service
    chroot $R /usr/bin/railgate check /etc/railgate/railgate.yaml
    chroot $R id railgate > $W/id.txt
    stat -c '%a %U:%G' $R/etc/railgate > $W/etc-mode.txt
    stat -c '%a %U' $R/etc/railgate/admin-password > $W/password-mode.txt
    cp $R/etc/railgate/admin-password $W/password-1
    echo "# changed by the admin" >> $R/etc/railgate/railgate.yaml
    mkdir -p $R/var/lib/railgate/firmware && ln -s /nowhere $R/var/lib/railgate/firmware/current
    dpkg -i $DEB > $W/upgrade.log 2>&1
    tail -1 $R/etc/railgate/railgate.yaml > $W/kept.txt
    cp $R/etc/railgate/admin-password $W/password-2
    test ! -e $R/var/lib/railgate/firmware/current && echo gone > $W/firmware.txt
    dpkg -r railgate > $W/remove.log 2>&1
    test ! -e $R/usr/bin/railgate && echo removed > $W/removed.txt
    test -e $R/etc/railgate/railgate.yaml && echo kept > $W/config-after-remove.txt
    dpkg -P railgate > $W/purge.log 2>&1
    test ! -e $R/etc/railgate && test ! -e $R/var/lib/railgate && echo purged > $W/purged.txt
    """)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_install_reinstall_remove_and_purge_in_a_throwaway_root(deb, tmp_path):
    script = tmp_path / "install.sh"
    script.write_text(INSTALL)
    before = open("/etc/passwd").read()
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", str(script), str(tmp_path), str(deb)],
                       capture_output=True, text=True, timeout=600)
    logs = "".join((tmp_path / f).read_text() for f in ("install.log", "upgrade.log") if (tmp_path / f).exists())
    assert r.returncode == 0, r.stdout + r.stderr + logs
    assert open("/etc/passwd").read() == before, "the host was changed"
    assert "groups=" in (tmp_path / "id.txt").read_text() and "dialout" in (tmp_path / "id.txt").read_text()
    assert "gpio" in (tmp_path / "id.txt").read_text()
    assert (tmp_path / "etc-mode.txt").read_text().startswith("770 root:")
    assert (tmp_path / "password-mode.txt").read_text().strip() == "600 root"
    password = (tmp_path / "password-1").read_text().strip()
    assert len(password) >= 20
    install = (tmp_path / "install.log").read_text()
    assert "/etc/railgate/admin-password" in install and password not in install
    assert "systemctl enable --now railgate" in install, "a first install tells, it does not start"
    # An upgrade keeps what the admin changed and the password, and drops a stale upgrade link.
    assert (tmp_path / "kept.txt").read_text().strip() == "# changed by the admin"
    assert (tmp_path / "password-2").read_text().strip() == password
    assert (tmp_path / "firmware.txt").exists()
    assert (tmp_path / "removed.txt").exists() and (tmp_path / "config-after-remove.txt").exists()
    assert (tmp_path / "purged.txt").exists()
    assert stat.S_IMODE(os.stat(deb).st_mode) & 0o004
