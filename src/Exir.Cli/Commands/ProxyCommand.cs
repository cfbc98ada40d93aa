using System.CommandLine;
using Exir.Core;
using Exir.Core.Findings;
using Exir.Proxy;
using Exir.Proxy.Host;
using Exir.Reporting.Outputs;

namespace Exir.Cli.Commands;

/// <summary>
/// exir proxy: the protective reverse proxy in front of Exchange. Options from the command line, or exir-proxy.yaml
/// with the command line on top; blocks print on stdout as findings (and append to --out DIR/findings.jsonl).
/// </summary>
public static class ProxyCommand
{
    public const string ExitCodeText = "0 stopped, nothing blocked; 1 stopped after blocking requests (findings printed); 2 could not start (bad config or rules, address in use, certificate)";

    public static Command Create()
    {
        var listen = new Option<string[]>("--listen", "-l") { Description = "Address to listen on, repeatable: http://IP:PORT or https://IP:PORT (default http://127.0.0.1:8080)", AllowMultipleArgumentsPerToken = false };
        var backend = new Option<string?>("--backend", "-b") { Description = "Exchange: https://exchange.internal (the client's path and query are forwarded as sent)" };
        var config = new Option<string?>("--config", "-c") { Description = "exir-proxy.yaml with everything else (see docs/proxy.md); reloaded when it changes" };
        var check = new Option<bool>("--check") { Description = "Validate the config, rules and certificates, print what would be published, and exit (0 valid, 2 not)" };
        var rules = CommonOptions.Rules();
        var internalNets = new Option<string[]>("--internal") { Description = "A network (CIDR) that may reach /ecp, /PowerShell and /API, repeatable" };
        var enableRpc = new Option<bool>("--enable-rpc") { Description = "Publish Outlook Anywhere (/rpc, RPC over HTTP) for old clients" };
        var cert = new Option<string?>("--cert") { Description = "Certificate for https:// listeners: a PFX, or a PEM certificate (with --cert-key)" };
        var certKey = new Option<string?>("--cert-key") { Description = "PEM private key of --cert" };
        var certPasswordEnv = new Option<string?>("--cert-password-env") { Description = "Environment variable holding the PFX password (never on the command line)" };
        var backendCa = new Option<string?>("--backend-ca") { Description = "PEM file of the CA(s) that sign Exchange's certificate (an internal CA)" };
        var backendPin = new Option<string?>("--backend-pin") { Description = "SHA-256 of Exchange's certificate (64 hex digits): only that certificate is accepted" };
        var insecure = new Option<bool>("--no-backend-validation") { Description = "Do not check Exchange's certificate (a lab only: anyone on the path can read the traffic)" };
        var admin = new Option<string?>("--admin") { Description = "Health (/health) and Prometheus metrics (/metrics) on this address, e.g. http://127.0.0.1:9901" };
        var accessLog = new Option<string?>("--access-log") { Description = "Folder for the W3C access log (exir-proxy_yyyyMMdd.log), which exir scan hunts like an IIS log" };
        var output = CommonOptions.Out("Folder that gets every block as a finding (findings.jsonl, appended while the proxy runs)");
        var format = new Option<string>("--format", "-f")
        {
            Description = "How blocks print on stdout: " + string.Join(", ", SinkRegistry.FormatNames(Verb.Proxy)) + ", or none",
            DefaultValueFactory = _ => "jsonl",
        };
        var cmd = new Command("proxy", VerbHelp.Of(
            "A reverse proxy in front of Exchange that publishes only the client protocols (OWA, ActiveSync, EWS, Autodiscover, MAPI, OAB; " +
            "ECP, PowerShell and the API from --internal networks only), normalises every request (repeated percent-decoding, %u, case, " +
            "dot segments, ';' parameters, backslashes, overlong UTF-8) and blocks the exploit shapes of ProxyLogon, ProxyShell, " +
            "ProxyNotShell and OWASSRF before they reach the server. NTLM/Negotiate work: each client connection gets its own upstream connection. " +
            "Runs in the foreground, as a systemd service or as a Windows service; Ctrl+C or SIGTERM stops it gracefully.",
            ExitCodeText,
            "exir proxy --listen https://0.0.0.0:443 --cert mail.pfx --cert-password-env PFX_PASS --backend https://exch01.corp.local --internal 10.20.0.0/16 --access-log /var/log/exir-proxy"))
        {
            listen, backend, config, check, rules, internalNets, enableRpc, cert, certKey, certPasswordEnv, backendCa, backendPin, insecure, admin, accessLog, output, format,
        };
        cmd.SetAction(parse =>
        {
            ProxyOptions options;
            try
            {
                options = Options(parse.GetValue(config), parse.GetValue(listen) ?? [], parse.GetValue(backend), parse.GetValue(rules),
                parse.GetValue(internalNets) ?? [], parse.GetValue(enableRpc), parse.GetValue(cert), parse.GetValue(certKey), parse.GetValue(certPasswordEnv),
                parse.GetValue(backendCa), parse.GetValue(backendPin), parse.GetValue(insecure), parse.GetValue(admin), parse.GetValue(accessLog), parse.GetValue(output));
            }
            catch (ProxyDataException e) { return Refused(e, Console.Error); }
            return Run(options, parse.GetValue(check), parse.GetValue(format) ?? "jsonl", Console.OpenStandardOutput(), Console.Error, CancellationToken.None)
                .GetAwaiter().GetResult();
        });
        return cmd;
    }

    /// <summary>The options: the config file's, with every option given on the command line on top.</summary>
    public static ProxyOptions Options(string? configFile, string[] listen, string? backend, string? rules, string[] internalNets, bool enableRpc,
        string? cert, string? certKey, string? certPasswordEnv, string? backendCa, string? backendPin, bool insecure, string? admin, string? accessLog, string? outDir)
    {
        ProxyOptions o;
        if (configFile is not null) o = ProxyConfigFile.Load(configFile);
        else
        {
            if (backend is null) throw new UsageException("give --backend https://exchange.internal (or --config exir-proxy.yaml)");
            o = new ProxyOptions { Backend = new Uri("http://placeholder") };
        }
        if (backend is not null)
            o = ProxyConfigFile.ParseBackend(backend, out var b, out var why) ? o with { Backend = b! } : throw new UsageException("--backend " + why);
        if (listen.Length > 0)
            o = o with
            {
                Listen = listen.Select(l => ProxyConfigFile.ParseListen(l, out var u, out var why) ? u! : throw new UsageException("--listen " + why)).ToList(),
            };
        foreach (var n in internalNets)
            if (!System.Net.IPNetwork.TryParse(n, out _)) throw new UsageException($"--internal '{n}' is not a network in CIDR form (e.g. 10.20.0.0/16)");
        var policy = o.Policy with
        {
            RulesDirectory = rules is not null ? Path.GetFullPath(rules) : o.Policy.RulesDirectory,
            InternalNetworks = [.. o.Policy.InternalNetworks, .. internalNets],
            EnableRpc = o.Policy.EnableRpc || enableRpc,
        };
        o = o with { Policy = policy };
        if (cert is not null) o = o with { Certificate = new ListenCertificate(Path.GetFullPath(cert), certKey is null ? null : Path.GetFullPath(certKey), certPasswordEnv) };
        else if (certKey is not null || certPasswordEnv is not null) throw new UsageException("--cert-key and --cert-password-env go with --cert");
        if (backendCa is not null) o = o with { BackendCaFile = Path.GetFullPath(backendCa) };
        if (backendPin is not null)
            o = o with { BackendCertificatePin = ProxyConfigFile.NormalisePin(backendPin) ?? throw new UsageException($"--backend-pin '{backendPin}' is not a SHA-256 hash (64 hex digits)") };
        if (insecure) o = o with { ValidateBackendCertificate = false };
        if (admin is not null)
            o = o with { Admin = ProxyConfigFile.ParseListen(admin, out var a, out var why) && a!.Scheme == "http" ? a : throw new UsageException("--admin " + (why ?? "takes http:// only")) };
        if (accessLog is not null) o = o with { AccessLogDirectory = Path.GetFullPath(accessLog) };
        if (outDir is not null) o = o with { OutDirectory = Path.GetFullPath(outDir) };
        return o;
    }

    public static async Task<int> Run(ProxyOptions options, bool checkOnly, string format, Stream stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (options.Backend.Host == "placeholder") throw new UsageException("give --backend https://exchange.internal (or backend: in the config)");
        var f = format.Trim().ToLowerInvariant();
        var stdoutSink = f == "none" ? null
            : SinkRegistry.ForStdout(Verb.Proxy, f) ?? throw new UsageException($"unknown --format '{format}' (use {string.Join(", ", SinkRegistry.FormatNames(Verb.Proxy))} or none)");
        if (checkOnly)
        {
            try
            {
                var runtime = ProxyServer.Validate(options);
                stderr.WriteLine($"exir proxy: config valid: {options.Listen.Count} listen address(es) -> {options.Backend.GetLeftPart(UriPartial.Authority)}; {runtime.Describe()}");
                return ExitCodes.Clean;
            }
            catch (ProxyDataException e) { return Refused(e, stderr); }
            catch (ProxyStartException e)
            {
                stderr.WriteLine($"exir proxy: would not start: {TextSafety.ForTerminal(e.Message)}");
                return ExitCodes.Error;
            }
        }

        ProxyServer server;
        try { server = await ProxyServer.StartAsync(options, stderr, cancellationToken); }
        catch (ProxyDataException e) { return Refused(e, stderr); }
        catch (ProxyStartException e)
        {
            stderr.WriteLine($"exir proxy: cannot start: {TextSafety.ForTerminal(e.Message)}");
            return ExitCodes.Error;
        }
        await using (server)
        {
            using var writer = new FindingWriter(stdoutSink, stdout, options.OutDirectory, stderr);
            var pump = writer.PumpAsync(server.Findings.Reader);
            try { await server.WaitForShutdownAsync(cancellationToken); }
            catch (OperationCanceledException) { }
            stderr.WriteLine("exir proxy: stopping (requests in flight get up to " + (int)options.ShutdownGrace.TotalSeconds + " s)");
            await server.StopAsync();
            await server.DisposeAsync();
            await pump;
            var dropped = server.Findings.Dropped;
            stderr.WriteLine($"exir proxy: stopped; {server.Findings.Added} block(s) and lockout(s) recorded" +
                             (dropped > 0 ? $", {dropped} more not recorded (more than {BlockFindings.Capacity} waiting at once)" : ""));
            return server.Findings.Added + dropped > 0 ? ExitCodes.Findings : ExitCodes.Clean;
        }
    }

    private static int Refused(ProxyDataException e, TextWriter stderr)
    {
        stderr.WriteLine("exir proxy: refusing to start, the configuration has problems:");
        foreach (var p in e.Problems) stderr.WriteLine("  " + TextSafety.ForTerminal(p.ToString()));
        return ExitCodes.Error;
    }

    /// <summary>Writes findings as they come, in small batches, through the registry's appending sinks (stdout and --out DIR).</summary>
    private sealed class FindingWriter : IDisposable
    {
        private readonly List<(IOutputSink Sink, Stream Stream)> _sinks = [];
        private readonly TextWriter _stderr;

        public FindingWriter(SinkDescriptor? stdoutSink, Stream stdout, string? outDirectory, TextWriter stderr)
        {
            _stderr = stderr;
            if (stdoutSink is not null) _sinks.Add((stdoutSink.Create(new SinkTarget(stdout, IsConsole: true)), stdout));
            if (outDirectory is null) return;
            Directory.CreateDirectory(outDirectory);
            foreach (var d in SinkRegistry.ForFolder(Verb.Proxy))
            {
                var stream = new FileStream(Path.Combine(outDirectory, d.FileName!), FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
                _sinks.Add((d.Create(new SinkTarget(stream, IsConsole: false)), stream));
            }
        }

        public async Task PumpAsync(System.Threading.Channels.ChannelReader<Finding> reader)
        {
            var batch = new List<Finding>();
            while (await reader.WaitToReadAsync())
            {
                while (batch.Count < 1000 && reader.TryRead(out var f)) batch.Add(f);
                var output = new RunOutput { Verb = Verb.Proxy, FindingBatch = batch.ToList() };
                foreach (var (sink, stream) in _sinks)
                {
                    try
                    {
                        sink.Complete(output);
                        stream.Flush();
                    }
                    catch (IOException e) { _stderr.WriteLine($"exir proxy: cannot write findings: {TextSafety.ForTerminal(e.Message)}"); }
                }
                batch.Clear();
            }
        }

        public void Dispose()
        {
            foreach (var (sink, _) in _sinks) sink.Dispose();
        }
    }
}
