# A stand-in for the part of Homebrew's formula DSL that
# packaging/homebrew/infrakit-instance-vmware-fusion.rb uses, so that the
# formula can be loaded, its install steps run and its test block run on a
# machine without Homebrew (test_install.py). It follows Homebrew's
# Library/Homebrew/service.rb where that matters: `~` in a service's run
# arguments is expanded, on_macos/on_linux pick by operating system, and the
# keep_alive forms are limited to Homebrew's.
#
#   ruby brew_stub.rb FORMULA describe OS   JSON: metadata, dependencies,
#                                           install commands, service (OS is
#                                           macos or linux)
#   ruby brew_stub.rb FORMULA test OS       runs the test block
#
# Environment: BREW_STUB_PREFIX (the keg, default /tmp/keg),
# BREW_STUB_HOMEBREW_PREFIX (default /opt/homebrew).
require "fileutils"
require "json"
require "pathname"
require "tmpdir"

STUB_OS = ARGV.fetch(2, "macos")
KEG = Pathname(ENV.fetch("BREW_STUB_PREFIX", "/tmp/keg"))
HOMEBREW_PREFIX = Pathname(ENV.fetch("BREW_STUB_HOMEBREW_PREFIX", "/opt/homebrew"))

class StubError < StandardError; end

class Formula
  class << self
    attr_reader :meta, :deps, :uses, :service_block, :test_block

    def inherited(sub)
      super
      sub.instance_variable_set(:@meta, {})
      sub.instance_variable_set(:@deps, [])
      sub.instance_variable_set(:@uses, [])
    end

    %i[desc homepage license].each do |m|
      define_method(m) { |v| @meta[m] = v }
    end

    def head(url, **opts)
      @meta[:head] = { url: url.to_s, using: opts[:using]&.to_s, branch: opts[:branch] }
    end

    def depends_on(spec)
      if spec.is_a?(Hash)
        spec.each { |name, tags| @deps << { name: name, tags: Array(tags).map(&:to_s) } }
      else
        @deps << { name: spec, tags: [] }
      end
    end

    def uses_from_macos(name, **_opts)
      @uses << name
    end

    def service(&block)
      @service_block = block
    end

    def test(&block)
      @test_block = block
    end
  end

  attr_reader :commands

  def initialize(run: false)
    @run = run
    @commands = []
  end

  def name
    "infrakit-instance-vmware-fusion"
  end

  def prefix = KEG
  def bin = KEG/"bin"
  def lib = KEG/"lib"
  def man1 = KEG/"share/man/man1"
  def man8 = KEG/"share/man/man8"
  def opt_prefix = HOMEBREW_PREFIX/"opt"/name
  def opt_bin = opt_prefix/"bin"
  def var = HOMEBREW_PREFIX/"var"

  def std_meson_args
    ["--prefix=#{prefix}", "--libdir=#{lib}", "--buildtype=release", "--wrap-mode=nofallback"]
  end

  def system(*args)
    args = args.map(&:to_s)
    @commands << args
    return true unless @run

    Kernel.system(*args) || raise(StubError, "failed: #{args.join(" ")}")
  end

  # The test block's helpers (Homebrew's Formula#shell_output, minitest).
  def testpath
    @testpath ||= Pathname(Dir.mktmpdir("brew-stub-test"))
  end

  def shell_output(cmd, result = 0)
    out = IO.popen(["/bin/sh", "-c", cmd], &:read)
    status = $?.exitstatus
    raise StubError, "#{cmd}: exit #{status}, expected #{result}\n#{out}" if status != result

    out
  end

  def assert_match(pattern, text)
    ok = pattern.is_a?(Regexp) ? pattern.match?(text) : text.include?(pattern)
    raise StubError, "#{pattern.inspect} not in:\n#{text}" unless ok
  end

  def assert_path_exists(path)
    raise StubError, "#{path} does not exist" unless File.exist?(path)
  end
end

class Service
  KEEP_ALIVE_KEYS = %i[always successful_exit crashed path].freeze

  attr_reader :data

  def initialize(formula, &block)
    @f = formula
    @data = { run: [], environment_variables: {}, keep_alive: {} }
    instance_eval(&block)
  end

  def run(cmd = nil, macos: nil, linux: nil)
    cmd ||= (STUB_OS == "macos" ? macos : linux)
    @data[:run] = Array(cmd).map(&:to_s)
  end

  def keep_alive(value)
    value = { always: value } if [true, false].include?(value)
    raise StubError, "keep_alive only allows #{KEEP_ALIVE_KEYS}" unless (value.keys - KEEP_ALIVE_KEYS).empty?

    @data[:keep_alive] = value
  end

  def environment_variables(vars)
    @data[:environment_variables] = vars.transform_values(&:to_s)
  end

  %i[log_path error_log_path working_dir input_path].each do |m|
    define_method(m) { |v| @data[m] = v.to_s }
  end

  %i[run_type process_type restart_delay throttle_interval nice require_root].each do |m|
    define_method(m) { |v| @data[m] = v }
  end

  def on_macos
    yield if STUB_OS == "macos"
  end

  def on_linux
    yield if STUB_OS == "linux"
  end

  def std_service_path_env
    "#{HOMEBREW_PREFIX}/bin:#{HOMEBREW_PREFIX}/sbin:/usr/bin:/bin:/usr/sbin:/sbin"
  end

  %i[bin opt_bin opt_prefix var etc].each do |m|
    define_method(m) { @f.public_send(m) }
  end

  # What launchd or systemd is given: Homebrew's Service#command.
  def command
    @data[:run].map { |a| a.start_with?("~") ? File.expand_path(a) : a }
  end
end

path, mode = ARGV[0], ARGV[1]
load File.expand_path(path)
klass = Formula.subclasses.first or abort("no Formula subclass in #{path}")

case mode
when "describe"
  f = klass.new
  f.install
  svc = klass.service_block ? Service.new(f, &klass.service_block) : nil
  puts JSON.pretty_generate(
    class: klass.name, meta: klass.meta, deps: klass.deps, uses_from_macos: klass.uses,
    install: f.commands, has_test: !klass.test_block.nil?,
    service: svc && svc.data.merge(command: svc.command)
  )
when "test"
  f = klass.new(run: true)
  begin
    f.instance_eval(&klass.test_block)
  ensure
    FileUtils.rm_rf(f.testpath)
  end
  puts "test block passed"
else
  abort "usage: ruby brew_stub.rb FORMULA describe|test [macos|linux]"
end
