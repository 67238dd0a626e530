"""The effective sshd configuration: Include (globs, loops, relative paths, inside Match),
first value wins, Match blocks kept apart, comments, case, '='."""

from __future__ import annotations

from pathlib import Path

from scrub.sshd import parse


def root_with(tmp_path: Path, main: str, extra: dict[str, str] | None = None) -> Path:
    root = tmp_path / "r"
    (root / "etc/ssh/sshd_config.d").mkdir(parents=True)
    (root / "etc/ssh/sshd_config").write_text(main)
    for rel, text in (extra or {}).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_first_value_wins_case_and_separators(tmp_path):
    cfg = parse(root_with(tmp_path, "# PermitRootLogin yes\npermitrootlogin No  # trailing comment\n"
                                    "PermitRootLogin yes\nPasswordAuthentication=no\nPASSWORDAUTHENTICATION yes\n"))
    assert cfg.value("PermitRootLogin") == ("No", f"{'/etc/ssh/sshd_config'}:2")
    assert cfg.value("PasswordAuthentication")[0] == "no"


def test_defaults_when_unset(tmp_path):
    cfg = parse(root_with(tmp_path, "Port 22\n"))
    assert cfg.value("PermitRootLogin") == ("prohibit-password", "default")
    assert cfg.value("PasswordAuthentication") == ("yes", "default")


def test_include_globs_in_lexical_order_relative_to_etc_ssh(tmp_path):
    cfg = parse(root_with(tmp_path, "Include sshd_config.d/*.conf\nPermitRootLogin yes\n",
                          {"etc/ssh/sshd_config.d/20-b.conf": "PermitRootLogin without-password\nUseDNS yes\n",
                           "etc/ssh/sshd_config.d/10-a.conf": "PermitRootLogin no\n",
                           "etc/ssh/sshd_config.d/ignored.txt": "UseDNS no\n"}))
    assert cfg.value("PermitRootLogin") == ("no", "/etc/ssh/sshd_config.d/10-a.conf:1")
    assert cfg.value("UseDNS")[0] == "yes"
    assert cfg.files == ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-a.conf", "/etc/ssh/sshd_config.d/20-b.conf"]


def test_include_loop_is_reported_not_followed(tmp_path):
    cfg = parse(root_with(tmp_path, "Include /etc/ssh/a.conf\n",
                          {"etc/ssh/a.conf": "Include /etc/ssh/b.conf\nUseDNS no\n",
                           "etc/ssh/b.conf": "Include /etc/ssh/a.conf\nPermitRootLogin no\n"}))
    assert any("Include loop" in p for p in cfg.problems)
    assert cfg.value("PermitRootLogin")[0] == "no" and cfg.value("UseDNS")[0] == "no"


def test_match_blocks_stay_apart_and_include_inside_match(tmp_path):
    cfg = parse(root_with(tmp_path, "PermitRootLogin no\nMatch User root\n  PermitRootLogin yes\n  Include /etc/ssh/m.conf\n"
                                    "Match all\nPasswordAuthentication no\n",
                          {"etc/ssh/m.conf": "PasswordAuthentication yes\n"}))
    assert cfg.value("PermitRootLogin")[0] == "no" and cfg.value("PasswordAuthentication")[0] == "no"
    [m] = cfg.matches
    assert m.criteria == "User root" and m.settings["permitrootlogin"].value == "yes"
    assert m.settings["passwordauthentication"].value == "yes"


def test_match_in_an_included_file_ends_with_it(tmp_path):
    cfg = parse(root_with(tmp_path, "Include /etc/ssh/inc.conf\nPasswordAuthentication no\n",
                          {"etc/ssh/inc.conf": "Match Address 10.0.0.0/8\nPasswordAuthentication yes\n"}))
    assert cfg.value("PasswordAuthentication") == ("no", "/etc/ssh/sshd_config:2")


def test_symlinked_config_stays_inside_the_root(tmp_path):
    outside = tmp_path / "outside.conf"
    outside.write_text("PermitRootLogin yes\n")
    root = root_with(tmp_path, "Include /etc/ssh/link.conf\n")
    (root / "etc/ssh/link.conf").symlink_to(outside)  # absolute target: resolved inside the root, where it is absent
    assert parse(root).value("PermitRootLogin") == ("prohibit-password", "default")


def test_no_server(tmp_path):
    (tmp_path / "r/etc").mkdir(parents=True)
    assert parse(tmp_path / "r").found is False
