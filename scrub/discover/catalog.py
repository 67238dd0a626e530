"""What must not ship, as data: history files and credential stashes, one entry per
application or stash, each with a stable id, a class and where the fact comes from.

Patterns are globs.  Home entries are relative to each user's home and may use {data},
{state}, {config}, {cache} for the user's XDG base directories; ``**/`` matches any depth.
System entries are absolute paths inside the root.  ``env`` names the variables that move
the file (read statically per user); ``needs`` lists signature ids of which one must be in the
content for a match to count (a ``.bashrc`` is only a finding when it holds a secret).
docs/catalog.md is generated from these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("history", "secret", "grant", "identity", "privacy")

ANY_PRIVATE_KEY = ("openssh-private-key", "pem-private-key", "der-private-key", "putty-private-key", "sshcom-private-key",
                   "pgp-private-key", "gpg-agent-key", "pkcs12-private-key", "jks-keystore", "jceks-keystore",
                   "age-secret-key", "wireguard-private-key", "openvpn-static-key", "keepass-database")
ANY_TOKEN = ("aws-access-key", "aws-secret-key", "github-token", "gitlab-token", "slack-token", "google-api-key",
             "stripe-secret-key", "vault-token", "npm-token", "pypi-token", "url-credentials", "gcp-service-account",
             "docker-auth", "netrc-password") + ANY_PRIVATE_KEY


def class_list(classes) -> tuple[str, ...]:
    """Class names from a caller: an iterable of known names (one string is an error, not
    its letters); None means every class."""
    if classes is None:
        return CLASSES
    if isinstance(classes, (str, bytes)):
        raise TypeError(f"classes: an iterable of class names, not one string (write ({classes!r},))")
    out = tuple(classes)
    bad = [c for c in out if c not in CLASSES]
    if bad:
        from scrub.exceptions import UsageError

        raise UsageError(f"unknown class {bad[0]!r} (one of {', '.join(CLASSES)})")
    return out


@dataclass(frozen=True)
class Entry:
    id: str
    app: str
    cls: str  # history | secret | grant | identity | privacy
    patterns: tuple[str, ...]
    scope: str = "home"  # home | system
    env: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # signature ids, one of which must be in the content
    directory: bool = False  # the stash is a directory, secret as a whole
    reference: str = ""
    via: str = ""  # set on a per-user copy whose pattern came from this variable's value


def H(id, app, *patterns, env=(), ref="", cls="history", directory=False):  # noqa: N802 - table helper
    # readline rewrites a history through <file>-<pid>.tmp and keeps a <file>- backup while it
    # does: both hold the same commands, so every literal history file brings them along
    extra = () if directory else tuple(v for p in patterns if not any(c in p.rsplit("/", 1)[-1] for c in "*?[")
                                       for v in (p + "-*.tmp", p + "-") if v not in patterns)
    return Entry(id, app, cls, patterns + extra, "home", tuple(env), (), directory, ref)


def C(id, app, cls, *patterns, needs=(), env=(), ref="", directory=False):  # noqa: N802
    return Entry(id, app, cls, patterns, "home", tuple(env), tuple(needs), directory, ref)


def S(id, app, cls, *patterns, needs=(), ref="", directory=False):  # noqa: N802
    return Entry(id, app, cls, patterns, "system", (), tuple(needs), directory, ref)


BASH_REF = "bash(1) HISTFILE; readline histfile.c writes <histfile>-<pid>.tmp and a <histfile>- backup"

HISTORIES: tuple[Entry, ...] = (
    H("bash", "bash", ".bash_history", env=("HISTFILE",), ref=BASH_REF),
    H("zsh", "zsh", ".zsh_history", ".zsh_history.LOCK", env=("HISTFILE", "ZDOTDIR"), ref="zshparam(1) HISTFILE; oh-my-zsh, grml"),
    H("zsh-histfile", "zsh (zsh-newuser-install)", ".histfile", ref="zsh-newuser-install default"),
    H("zsh-prezto", "zsh (prezto)", ".zhistory", ref="prezto history module"),
    H("zsh-xdg", "zsh (XDG layout)", "{state}/zsh/history", "{data}/zsh/history", "{config}/zsh/.zsh_history",
      ref="common XDG zsh setups"),
    H("zsh-sessions", "zsh session history", ".zsh_sessions", directory=True, ref="macOS /etc/zshrc_Apple_Terminal"),
    H("readline-default", "readline default, tcsh/csh savehist", ".history", ref="readline falls back to ~/.history; tcsh(1)"),
    H("ksh", "ksh93, mksh", ".sh_history", ref="ksh(1) HISTFILE default"),
    H("ash", "BusyBox ash (Alpine)", ".ash_history", ref="BusyBox ash"),
    H("fish", "fish", "{data}/fish/fish_history", "{data}/fish/*_history", ".config/fish/fish_history",
      ref="fish(1): $XDG_DATA_HOME/fish/<session>_history; fish <= 2.2 used ~/.config/fish (fish-shell#744)"),
    H("nushell", "nushell", "{config}/nushell/history.txt", "{config}/nushell/history.sqlite3*", ref="nushell book: history"),
    H("xonsh", "xonsh", "{data}/xonsh/history_json", "{data}/xonsh/xonsh-history.sqlite", directory=True,
      ref="xonsh history backends: JSON files in $XDG_DATA_HOME/xonsh/history_json, SQLite xonsh-history.sqlite"),
    H("elvish", "elvish", "{state}/elvish/db.bolt", ".elvish/db", ref="elvish store"),
    H("powershell", "PowerShell (PSReadLine)", "{data}/powershell/PSReadLine/ConsoleHost_history.txt",
      ref="PSReadLine HistorySavePath on Linux"),
    H("atuin", "atuin", "{data}/atuin/history.db", ref="atuin docs"),
    H("mcfly", "mcfly", "{data}/mcfly/history.db", ".mcfly/history.db", ref="mcfly README"),
    # ~/.hishtory also holds the hishtory binary and the config.sh/config.zsh hooks a shell
    # sources: only the database is history (hishtory's lib: ~/.hishtory/.hishtory.db)
    H("hishtory", "hishtory", ".hishtory/.hishtory.db", ".hishtory/.hishtory.db-wal", ".hishtory/.hishtory.db-shm",
      ref="hishtory README and client/hctx (DB_PATH .hishtory.db)"),
    H("zoxide", "z, zoxide, autojump (directories visited)", ".z", "{data}/zoxide/db.zo", "{data}/autojump/autojump.txt",
      cls="privacy", ref="zoxide/autojump docs"),
    H("python", "CPython REPL", ".python_history", env=("PYTHON_HISTORY",), ref="site.py register_readline; PYTHON_HISTORY (3.13)"),
    H("bpython", "bpython", ".pythonhist", "{data}/bpython/history", ref="bpython config hist_file"),
    H("ipython", "IPython, Jupyter console", ".ipython/profile_*/history.sqlite*", ref="IPython HistoryManager"),
    H("ptpython", "ptpython", ".ptpython/history", "{data}/ptpython/history", "{config}/ptpython/history", ref="ptpython"),
    H("mysql", "mysql/mariadb client", ".mysql_history", env=("MYSQL_HISTFILE",), ref="mysql(1) MYSQL_HISTFILE"),
    H("mysqlsh", "MySQL Shell", ".mysqlsh/history", ref="MySQL Shell history.autoSave"),
    H("mycli", "mycli", ".mycli-history", ref="mycli config"),
    H("psql", "psql", ".psql_history", ".psql_history-*", env=("PSQL_HISTORY",), ref="psql(1) HISTFILE, PSQL_HISTORY"),
    H("pgcli", "pgcli", "{config}/pgcli/history", ref="pgcli config"),
    H("sqlite", "sqlite3 shell", ".sqlite_history", env=("SQLITE_HISTORY",), ref="sqlite3 shell SQLITE_HISTORY"),
    H("redis", "redis-cli", ".rediscli_history", env=("REDISCLI_HISTFILE",), ref="redis-cli REDISCLI_HISTFILE"),
    H("mongo", "mongo, mongosh", ".dbshell", ".mongodb/mongosh/mongosh_repl_history", ref="mongosh docs"),
    H("cqlsh", "cqlsh (Cassandra)", ".cassandra/cqlsh_history", ref="cqlsh"),
    H("clickhouse", "clickhouse-client", ".clickhouse-client-history", ref="clickhouse-client history_file"),
    H("influx", "influx CLI", ".influx_history", ref="influx CLI"),
    H("hive", "hive, beeline", ".hivehistory", ".beeline/history", ref="Hive CLI, Beeline"),
    H("node", "node REPL", ".node_repl_history", env=("NODE_REPL_HISTORY",), ref="node repl NODE_REPL_HISTORY"),
    H("irb", "irb", ".irb_history", "{config}/irb/irb_history", "{data}/irb/irb_history", ref="ruby/irb history.rb"),
    H("pry", "pry", ".pry_history", "{data}/pry/pry_history", ref="pry config history_file"),
    H("r", "R", ".Rhistory", env=("R_HISTFILE",), ref="R: R_HISTFILE, savehistory()"),
    H("octave", "GNU Octave", ".octave_hist", "{data}/octave/history", ref="Octave history_file"),
    H("julia", "Julia REPL", ".julia/logs/repl_history.jl", ref="Julia REPL"),
    H("ghci", "GHCi", ".ghc/ghci_history", "{state}/ghc/ghci_history", ref="GHC user guide"),
    H("scala", "Scala 2 / 3 REPL", ".scala_history", ".dotty_history", ref="Scala REPL"),
    H("erlang", "Erlang/Elixir shell", "{cache}/erlang-history", directory=True, ref="kernel shell_history"),
    H("guile", "Guile REPL", ".guile_history", ref="Guile readline"),
    H("php", "PsySH (PHP REPL)", "{config}/psysh/psysh_history", ".php_history", ref="PsySH"),
    H("gdb", "gdb", ".gdb_history", env=("GDBHISTFILE",), ref="gdb: set history save, GDBHISTFILE"),
    H("lldb", "lldb", ".lldb/lldb-widehistory", ".lldb/*history", ref="lldb"),
    H("less", "less", ".lesshst", "{state}/lesshst", "{data}/lesshst", env=("LESSHISTFILE",), ref="less(1) LESSHISTFILE"),
    H("vim", "vim", ".viminfo", ".viminfo.tmp", ".vim/viminfo", ref="vim :help viminfo"),
    H("vim-netrw", "vim/nvim netrw (remote URLs browsed)", ".vim/.netrwhist", "{data}/nvim/.netrwhist", cls="privacy",
      ref="netrw g:netrw_home"),
    H("nvim", "neovim ShaDa", "{state}/nvim/shada/main.shada", "{state}/nvim/shada/main.shada.tmp.*",
      "{data}/nvim/shada/main.shada", "{data}/nvim/shada/main.shada.tmp.*", ref="nvim :help shada-file-name (0.8 moved to state)"),
    H("nano", "nano", "{data}/nano/search_history", "{data}/nano/filepos_history", ".nano_history", ".nano/search_history",
      ref="nano(1) historylog"),
    H("emacs", "emacs, eshell", ".emacs.d/history", ".emacs.d/eshell/history", ".eshell/history", "{config}/emacs/history",
      "{config}/emacs/eshell/history", ref="savehist, eshell"),
    H("emacs-recentf", "emacs recentf (files opened)", ".emacs.d/recentf", "{config}/emacs/recentf", cls="privacy", ref="recentf"),
    H("mc", "Midnight Commander", "{data}/mc/history", ".mc/history", ref="mc FAQ; bleachbit#517"),
    H("ranger", "ranger", "{data}/ranger/history", ref="ranger"),
    H("tig", "tig", ".tig_history", "{data}/tig/history", ref="tig"),
    H("wget-hsts", "wget HSTS database (hosts visited)", ".wget-hsts", cls="privacy", ref="wget(1) --hsts-file"),
    H("lftp", "lftp", "{data}/lftp/rl_history", "{data}/lftp/cwd_history", "{data}/lftp/transfer_log", ".lftp/rl_history",
      ".lftp/cwd_history", ref="lftp"),
    H("gnuplot", "gnuplot", ".gnuplot_history", ref="gnuplot history"),
    H("units", "GNU units", ".units_history", ref="units"),
    H("aws-cli-history", "AWS CLI v2 command history", ".aws/cli/history/history.db", ref="aws configure set cli_history enabled"),
    H("gcloud-logs", "gcloud command logs", "{config}/gcloud/logs", directory=True, ref="gcloud logs dir"),
    H("azure-commands", "az CLI command logs", ".azure/commands", directory=True, ref="az CLI"),
    H("claude-code", "Claude Code sessions", ".claude/projects", ".claude/file-history", ".claude/shell-snapshots",
      directory=True, ref="BleachBit cleaner (2026)"),
    H("recently-used", "GTK recently used files", "{data}/recently-used.xbel", cls="privacy", ref="freedesktop recent files"),
    H("xsession-errors", "X session log", ".xsession-errors", ".xsession-errors.old", cls="privacy", ref="Xsession"),
    H("rlwrap", "rlwrap and other readline tools", ".*_history", ref="rlwrap(1): ~/.<command>_history"),
)

SSH_KEY_NEEDS = ANY_PRIVATE_KEY
TOKEN_NEEDS = ("aws-access-key", "aws-secret-key", "github-token", "gitlab-token", "slack-token", "google-api-key",
               "stripe-secret-key", "vault-token", "npm-token", "pypi-token", "url-credentials", "config-password")

CREDENTIALS: tuple[Entry, ...] = (
    C("ssh-private-key", "OpenSSH user key", "secret", ".ssh/id_*", ".ssh/*.pem", ".ssh/*.key", ".ssh/*_key", needs=SSH_KEY_NEEDS,
      ref="ssh-keygen(1) FILES; ec2-bundle-vol's filter misses ecdsa/ed25519"),
    C("ssh-authorized-keys", "OpenSSH login grant", "grant", ".ssh/authorized_keys", ".ssh/authorized_keys2",
      ref="sshd(8) AuthorizedKeysFile; AWS shared-AMI guidelines"),
    C("ssh-known-hosts", "OpenSSH hosts contacted", "privacy", ".ssh/known_hosts", ".ssh/known_hosts.old", ref="ssh(1)"),
    C("ssh-config", "OpenSSH client config (hosts, IdentityFile)", "privacy", ".ssh/config", ref="ssh_config(5)"),
    C("aws-credentials", "AWS CLI/SDK credentials", "secret", ".aws/credentials", env=("AWS_SHARED_CREDENTIALS_FILE",),
      ref="AWS CLI configuration files"),
    C("aws-config", "AWS CLI config (profiles, SSO, credential_process)", "privacy", ".aws/config", ref="AWS CLI"),
    C("aws-sso-cache", "AWS SSO tokens and assumed-role credentials", "secret", ".aws/sso/cache/*.json", ".aws/cli/cache/*.json",
      ref="AWS CLI SSO"),
    C("ec2-bundle-key", "EC2 bundling private key (ec2-bundle-vol -k)", "secret", "**/pk-*.pem",
      needs=("pem-private-key",), ref="ec2-ami-tools: keep pk-*.pem off the bundled volume"),
    C("ec2-bundle-cert", "EC2 bundling X.509 certificate (ec2-bundle-vol -c)", "secret", "**/cert-*.pem",
      needs=("x509-certificate",), ref="ec2-ami-tools: keep cert-*.pem off the bundled volume"),
    C("docker-config", "Docker registry auths", "secret", ".docker/config.json", needs=("docker-auth",), env=("DOCKER_CONFIG",),
      ref="docker login"),
    C("containers-auth", "podman/buildah/skopeo registry auths", "secret", "{config}/containers/auth.json", needs=("docker-auth",),
      ref="containers-auth.json(5)"),
    C("kubeconfig", "Kubernetes client config", "secret", ".kube/config", env=("KUBECONFIG",), ref="kubectl"),
    C("gcloud", "Google Cloud SDK credentials", "secret", "{config}/gcloud/credentials.db", "{config}/gcloud/access_tokens.db",
      "{config}/gcloud/application_default_credentials.json", "{config}/gcloud/legacy_credentials", ref="gcloud auth"),
    C("azure-cli", "Azure CLI tokens", "secret", ".azure/msal_token_cache.*", ".azure/accessTokens.json",
      ".azure/service_principal_entries.*", ref="az login"),
    C("oci-cli", "Oracle Cloud CLI", "secret", ".oci/config", ".oci/*.pem", ref="OCI CLI"),
    C("doctl", "DigitalOcean CLI", "secret", "{config}/doctl/config.yaml", ref="doctl auth"),
    C("hcloud", "Hetzner Cloud CLI", "secret", "{config}/hcloud/cli.toml", ref="hcloud"),
    C("openstack", "OpenStack clouds.yaml", "secret", "{config}/openstack/clouds.yaml", "{config}/openstack/secure.yaml",
      ref="openstacksdk"),
    C("netrc", ".netrc passwords (curl, git, ftp)", "secret", ".netrc", "_netrc", ref="netrc(5)"),
    C("git-credentials", "git credential store", "secret", ".git-credentials", "{config}/git/credentials",
      ref="git-credential-store(1)"),
    C("gitconfig-token", "git config with credentials in URLs", "secret", ".gitconfig", "{config}/git/config",
      needs=TOKEN_NEEDS, ref="git-config(1)"),
    C("gh", "GitHub CLI", "secret", "{config}/gh/hosts.yml", ref="gh auth"),
    C("glab", "GitLab CLI", "secret", "{config}/glab-cli/config.yml", ref="glab auth"),
    C("hub", "hub", "secret", "{config}/hub", ref="hub(1)"),
    C("npmrc", "npm auth token", "secret", ".npmrc", needs=("npm-token", "url-credentials", "config-password"),
      ref="npmrc(5) _authToken"),
    C("yarnrc", "yarn npmAuthToken", "secret", ".yarnrc.yml", ref="yarn"),
    C("pypirc", "PyPI upload credentials", "secret", ".pypirc", ref="twine, .pypirc"),
    C("pip-conf", "pip index with credentials", "secret", "{config}/pip/pip.conf", ".pip/pip.conf", needs=TOKEN_NEEDS,
      ref="pip configuration"),
    C("gem-credentials", "RubyGems API key", "secret", ".gem/credentials", ref="gem push"),
    C("cargo-credentials", "crates.io token", "secret", ".cargo/credentials", ".cargo/credentials.toml", ref="cargo login"),
    C("maven-settings", "Maven server passwords", "secret", ".m2/settings.xml", ".m2/settings-security.xml", ref="Maven"),
    C("gradle-properties", "Gradle credentials", "secret", ".gradle/gradle.properties", ref="Gradle"),
    C("nuget-config", "NuGet feed credentials", "secret", ".nuget/NuGet/NuGet.Config", ref="NuGet"),
    C("composer-auth", "Composer auth.json", "secret", ".composer/auth.json", "{config}/composer/auth.json", ref="Composer"),
    C("terraform-credentials", "Terraform Cloud token", "secret", ".terraform.d/credentials.tfrc.json", ".terraformrc",
      ref="terraform login"),
    C("terraform-state", "Terraform state (often embeds secrets)", "secret", "**/*.tfstate", "**/*.tfstate.backup", ref="Terraform"),
    C("vault-token", "HashiCorp Vault token", "secret", ".vault-token", ref="vault login"),
    C("pgpass", "PostgreSQL passwords", "secret", ".pgpass", ref="libpq .pgpass"),
    C("mysql-cnf", "MySQL client passwords", "secret", ".my.cnf", ".mylogin.cnf", ref="mysql option files"),
    C("cqlshrc", "cqlsh credentials", "secret", ".cassandra/cqlshrc", ref="cqlsh"),
    C("s3-tools", "s3cmd, boto, s3fs", "secret", ".s3cfg", ".boto", ".passwd-s3fs", ref="s3cmd, boto, s3fs"),
    C("rclone", "rclone remotes", "secret", "{config}/rclone/rclone.conf", ref="rclone config"),
    C("davfs2", "davfs2 secrets", "secret", ".davfs2/secrets", ref="davfs2"),
    C("smb-credentials", "SMB credentials file", "secret", ".smbcredentials", ".smbcreds", ref="mount.cifs credentials="),
    C("mail-rc", "mail client passwords", "secret", ".msmtprc", ".fetchmailrc", ".muttrc", ".netrc-mail", ref="msmtp, fetchmail, mutt"),
    C("http-rc", "wget/curl rc with passwords", "secret", ".wgetrc", ".curlrc", needs=TOKEN_NEEDS, ref="wgetrc, curlrc"),
    C("gnupg", "GnuPG home (secret keys, trust)", "secret", ".gnupg", directory=True, ref="gpg(1)"),
    C("gnupg-private-keys", "gpg-agent private keys", "secret", ".gnupg/private-keys-v1.d/*.key", ".gnupg/secring.gpg",
      ref="gpg-agent(1)"),
    C("password-store", "pass password store", "secret", ".password-store", directory=True, ref="pass(1)"),
    C("keyrings", "GNOME keyring, KWallet", "secret", "{data}/keyrings", "{data}/kwalletd", directory=True, ref="gnome-keyring"),
    C("browser-passwords", "browser password stores", "secret", ".mozilla/firefox/*/logins.json", ".mozilla/firefox/*/key4.db",
      "{config}/google-chrome/*/Login Data", "{config}/chromium/*/Login Data", ref="Firefox, Chromium profiles"),
    C("ansible-vault-pass", "Ansible vault password file", "secret", ".vault_pass*", ".ansible/vault_pass*", ref="Ansible"),
    C("chef-workstation", "Chef workstation keys", "secret", ".chef/*.pem", ".chef/credentials", ref="knife"),
    C("age-keys", "age / sops keys", "secret", "{config}/sops/age/keys.txt", ".age/*.txt", needs=("age-secret-key",), ref="sops, age"),
    C("atuin-key", "atuin sync key", "secret", "{data}/atuin/key", ref="atuin sync"),
    C("ci-cli-tokens", "CI and tunnel CLI tokens", "secret", ".travis/config.yml", ".circleci/cli.yml", ".ngrok2/ngrok.yml",
      "{config}/ngrok/ngrok.yml", ref="travis, circleci, ngrok CLIs"),
    C("shell-rc-secrets", "secrets exported in shell start-up files", "secret", ".bashrc", ".bash_profile", ".profile", ".zshrc",
      ".zshenv", ".zprofile", ".config/fish/config.fish", needs=TOKEN_NEEDS, ref="exported AWS_SECRET_ACCESS_KEY and tokens"),
    C("dotenv", ".env files", "secret", "**/.env", "**/.env.*", "**/*.env", needs=TOKEN_NEEDS, ref="dotenv"),
    C("key-containers", "key containers anywhere in a home", "secret", "**/*.p12", "**/*.pfx", "**/*.jks", "**/*.jceks",
      "**/*.keystore", "**/*.ppk", "**/*.kdbx", needs=ANY_PRIVATE_KEY, ref="PKCS#12, Java keystores, PuTTY, KeePass"),
    C("key-files", "private key files anywhere in a home", "secret", "**/*.pem", "**/*.key", "**/*.der", "**/*.asc",
      "**/*.gpg", needs=ANY_PRIVATE_KEY, ref="PEM, DER and OpenPGP private keys"),
)

SYSTEM: tuple[Entry, ...] = (
    S("ssh-host-keys", "OpenSSH host private keys", "secret", "/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_key",
      ref="sshd(8); AWS: remove host keys from shared AMIs"),
    S("ssh-host-public", "OpenSSH host public keys and certificates", "identity", "/etc/ssh/ssh_host_*_key.pub",
      "/etc/ssh/ssh_host_*_key-cert.pub", ref="cloud-init regenerates host keys at first boot (ssh_deletekeys)"),
    S("shadow-backups", "password hash backups", "secret", "/etc/shadow-", "/etc/gshadow-", "/etc/shadow.bak", "/etc/shadow~",
      ref="virt-sysprep passwd-backups"),
    S("cloud-init-user-data", "cloud-init copies of user data", "secret", "/var/lib/cloud/instance/user-data.txt*",
      "/var/lib/cloud/instance/vendor-data*.txt*", "/var/lib/cloud/instance/obj.pkl", "/var/lib/cloud/instances/*/user-data.txt*",
      "/var/lib/cloud/instances/*/vendor-data*.txt*", "/var/lib/cloud/instances/*/obj.pkl", "/var/lib/cloud/seed/*/user-data",
      "/run/cloud-init/instance-data-sensitive.json", ref="cloud-init clean"),
    S("cloud-init-sudoers", "sudo grant for the launch user", "grant", "/etc/sudoers.d/90-cloud-init-users",
      ref="EC2 Image Builder cleanup"),
    S("kerberos-keytab", "Kerberos keytabs and KDC database", "secret", "/etc/krb5.keytab", "/etc/*.keytab",
      "/var/kerberos/krb5kdc/principal*", ref="virt-sysprep kerberos-hostkeytab"),
    S("kerberos-ccache", "Kerberos credential caches", "secret", "/tmp/krb5cc_*", ref="krb5 FILE ccache"),
    S("tls-private-keys", "TLS private keys", "secret", "/etc/ssl/private/*", "/etc/pki/tls/private/*",
      "/etc/letsencrypt/live", "/etc/letsencrypt/archive", "/etc/letsencrypt/accounts", ref="Debian ssl-cert, certbot"),
    S("rhsm-identity", "RHEL subscription identity", "identity", "/etc/pki/consumer/*", "/etc/pki/entitlement/*",
      "/etc/sysconfig/rhn/systemid", ref="virt-sysprep rh-subscription-manager"),
    S("ipa-sssd", "IdM/SSSD enrolment", "identity", "/etc/ipa/*", "/var/lib/ipa-client/*", "/var/lib/sss/db/*",
      ref="virt-sysprep ipa-client, sssd-db-log"),
    S("puppet-keys", "Puppet agent keys", "secret", "/etc/puppetlabs/puppet/ssl/private_keys/*", "/var/lib/puppet/ssl/private_keys/*",
      ref="Puppet SSL layout"),
    S("chef-client", "Chef client keys", "secret", "/etc/chef/client.pem", "/etc/chef/validation.pem", ref="chef-client"),
    S("salt-keys", "Salt minion/master keys", "secret", "/etc/salt/pki/minion/minion.pem", "/etc/salt/pki/master/master.pem",
      ref="Salt PKI"),
    S("network-secrets", "network passwords and keys", "secret", "/etc/NetworkManager/system-connections/*",
      "/etc/wpa_supplicant/*.conf", "/etc/wireguard/*.conf", "/etc/wireguard/*.key", "/etc/openvpn/*.key",
      "/etc/openvpn/*/*.key", "/etc/ipsec.secrets", "/etc/ipsec.d/private/*", ref="NetworkManager, wpa_supplicant, WireGuard, OpenVPN"),
    S("service-passwords", "service password files", "secret", "/etc/postfix/sasl_passwd*", "/etc/davfs2/secrets",
      "/etc/passwd-s3fs", "/etc/mysql/debian.cnf", ref="postfix, davfs2, s3fs, Debian MySQL maintenance"),
    S("fstab-credentials", "mount passwords in fstab", "secret", "/etc/fstab", needs=("mount-password",), ref="mount.cifs(8)"),
    S("kubernetes-pki", "Kubernetes admin config and keys", "secret", "/etc/kubernetes/admin.conf", "/etc/kubernetes/pki/*.key",
      "/etc/kubernetes/pki/*/*.key", "/var/lib/kubelet/pki/*.key", ref="kubeadm"),
    S("systemd-credential-secret", "systemd credential host key", "secret", "/var/lib/systemd/credential.secret",
      ref="systemd-creds(1)"),
    S("machine-id", "machine identity", "identity", "/etc/machine-id", "/var/lib/dbus/machine-id",
      ref="machine-id(5); cloud-init clean --machine-id"),
    S("random-seed", "saved random seed", "identity", "/var/lib/systemd/random-seed", "/var/lib/urandom/random-seed",
      ref="systemd-random-seed.service"),
    S("ssm-agent", "AWS SSM agent registration and vault", "secret", "/var/lib/amazon/ssm/Vault", "/var/lib/amazon/ssm/registration",
      ref="SSM agent hybrid activation"),
    S("ec2-bundle-key-system", "EC2 bundling key or certificate outside homes", "secret", "/mnt/pk-*.pem", "/mnt/cert-*.pem",
      "/tmp/pk-*.pem", "/tmp/cert-*.pem", "/root/pk-*.pem", "/root/cert-*.pem",
      needs=("pem-private-key", "x509-certificate"), ref="ec2-bundle-vol -k/-c"),
    S("cloud-init-output-log", "user-data script output (often echoes secrets)", "privacy", "/var/log/cloud-init-output.log",
      ref="cloud-init clean --logs"),
    S("dhcp-leases", "DHCP leases", "identity", "/var/lib/dhcp/*.leases", "/var/lib/dhclient/*.lease*",
      "/var/lib/NetworkManager/*.lease", ref="virt-sysprep dhcp-client-state"),
)

ALL: tuple[Entry, ...] = HISTORIES + CREDENTIALS + SYSTEM
BY_ID: dict[str, Entry] = {}
for _e in ALL:
    assert _e.id not in BY_ID, f"duplicate catalog id {_e.id}"
    assert _e.cls in CLASSES, _e
    assert _e.patterns, _e
    BY_ID[_e.id] = _e
