# Homebrew formula, kept in the repository (HEAD builds only: there are no
# release tarballs yet). Homebrew installs formulae from taps only, so
# packaging/homebrew/tap-local.sh links this file into a local tap and
# installs it from this checkout:
#   packaging/homebrew/tap-local.sh          # brew install --HEAD ...
#   brew services start infrakit-instance-vmware-fusion
# The source is this checkout (the repository this file sits in, found
# through the tap's symlink), or HOMEBREW_IKVF_REPO (a path or git URL).
class InfrakitInstanceVmwareFusion < Formula
  desc "InfraKit instance plugin for VMware Fusion, Workstation and QEMU"
  homepage "https://github.com/docker/infrakit"
  license "Apache-2.0"
  head ENV.fetch("HOMEBREW_IKVF_REPO") { "file://#{File.expand_path("../..", File.dirname(File.realpath(__FILE__)))}" },
       using: :git

  depends_on "meson" => :build
  depends_on "ninja" => :build
  depends_on "pkg-config" => :build
  depends_on "jansson"
  depends_on "libarchive"
  depends_on "libmicrohttpd"
  depends_on "openssl@3"

  uses_from_macos "zlib"

  def install
    # A release build without the test suite (cmocka) and without -Werror:
    # a newer compiler's new warning must not break an install. brew services
    # writes its own launchd job (macOS) or systemd unit (Linux) from the
    # service block below, so the repository's unit is not installed.
    system "meson", "setup", "build", *std_meson_args,
           "-Dtests=false", "-Dwerror=false", "-Dsystemd_user_unit_dir=no"
    system "meson", "compile", "-C", "build", "--verbose"
    system "meson", "install", "-C", "build"
  end

  # InfraKit's conventional places: the socket and pid file in
  # ~/.infrakit/plugins (the plugin's default), instances and templates under
  # ~/.infrakit/vmware-fusion/ (Homebrew expands the leading ~). The log is
  # var/log/infrakit-instance-vmware-fusion.log, where `brew services info`
  # points.
  service do
    run [opt_bin/"infrakit-instance-vmware-fusion", "serve",
         "--name", "vmware-fusion",
         "--vm-dir", "~/.infrakit/vmware-fusion/vms",
         "--vm-lib", "~/.infrakit/vmware-fusion/vmx",
         "--log", "4"]
    # Restart after a failure, not after a clean stop. launchd: KeepAlive
    # with SuccessfulExit false. Homebrew writes no Restart= for that form in
    # a systemd unit, where crashed: true gives Restart=on-failure.
    on_macos do
      keep_alive successful_exit: false
    end
    on_linux do
      keep_alive crashed: true
    end
    # launchd's PATH has no Homebrew, where qemu-system-x86_64 is.
    environment_variables PATH: std_service_path_env
    log_path var/"log/infrakit-instance-vmware-fusion.log"
    error_log_path var/"log/infrakit-instance-vmware-fusion.log"
  end

  test do
    assert_match "--stop-timeout", shell_output("#{bin}/infrakit-instance-vmware-fusion serve --help")
    assert_match "\"version\"", shell_output("#{bin}/infrakit-instance-vmware-fusion version")
    # Without a running plugin the client says so and exits 3.
    ENV["INFRAKIT_PLUGINS_DIR"] = (testpath/"plugins").to_s
    output = shell_output("#{bin}/infrakit-instance-vmware-fusion describe 2>&1", 3)
    assert_match "cannot reach the plugin", output
    assert_path_exists man8/"infrakit-instance-vmware-fusion.8"
  end
end
