using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exir.Core.Findings;
using Exir.Proxy.AccessLog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Exir.Proxy.Host;

/// <summary>
/// `exir proxy`: Kestrel takes the client's request, <see cref="ProxyPolicy"/> judges it (normalise, refuse the
/// ambiguous, Exchange rules, exposure), and YARP's forwarder carries what passes to Exchange over an upstream
/// connection pinned to the client's connection (NTLM and Negotiate authenticate connections, not requests: a
/// shared pool would hand one user's logged-on connection to another). Every request is written to the access log;
/// every block becomes a finding (<see cref="Findings"/>).
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ProxyOptions _options;
    private readonly TextWriter _log;
    private readonly IHttpForwarder _forwarder;
    private readonly ExchangeTransformer _transformer;
    private readonly ConcurrentDictionary<string, PinnedUpstream> _pinned = new(StringComparer.Ordinal);
    // Open client connections by id: Kestrel names only the connection when it refuses a request it could not parse.
    private readonly ConcurrentDictionary<string, ConnectionContext> _connections = new(StringComparer.Ordinal);
    // The current second (upper bits) and the findings reported in it (lower 20 bits), changed together.
    private long _refusalWindow;
    private readonly W3cAccessLogWriter? _accessLog;
    private readonly X509Certificate2? _listenCertificate;
    private readonly X509Certificate2Collection? _backendCa;
    private readonly string _backendPrefix;
    private readonly string _hostName;
    private readonly string _hostId;
    private readonly ConfigWatcher? _watcher;
    private volatile ProxyRuntime _runtime;
    private volatile FailedLogons _failedLogons;
    private int _certificateWarned;

    /// <summary>Blocks and lockouts as findings, for the sinks of the verb (findings.jsonl, the case). Bounded: a flood drops and counts.</summary>
    public BlockFindings Findings { get; } = new();
    public ProxyMetrics Metrics { get; } = new();
    public ProxyRuntime Runtime => _runtime;
    /// <summary>The bound addresses (a port 0 resolved), published ones first; the admin listener last when there is one.</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];
    public Uri? AdminAddress { get; private set; }

    private ProxyServer(ProxyOptions options, ProxyRuntime runtime, TextWriter log, WebApplication app, X509Certificate2? cert, X509Certificate2Collection? ca)
    {
        _options = options;
        _runtime = runtime;
        _log = log;
        _app = app;
        _listenCertificate = cert;
        _backendCa = ca;
        _forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        _transformer = new ExchangeTransformer(() => _runtime);
        _failedLogons = new FailedLogons(runtime.Settings.FailedAuthLimit, runtime.Settings.FailedAuthWindow);
        // Plain http with the port spelled out: TLS to Exchange is made in the connect callback (CreateUpstreamHandler), below
        // the stream that watches for early answers.
        _backendPrefix = $"http://{options.Backend.Host}:{options.Backend.Port}";
        _hostName = options.Backend.Host;
        _hostId = HostIds.For(_hostName);
        if (options.AccessLogDirectory is { } dir)
            _accessLog = new W3cAccessLogWriter(dir, new W3cAccessLogOptions { Version = typeof(ProxyServer).Assembly.GetName().Version?.ToString() });
        if (options.ConfigFile is { } file) _watcher = new ConfigWatcher(file, Reload);
    }

    /// <summary>
    /// Validates everything (rules, exposure, certificates, addresses), starts listening and returns once the proxy
    /// serves. Throws <see cref="ProxyDataException"/> for bad data and <see cref="ProxyStartException"/> for the rest:
    /// nothing listens then.
    /// </summary>
    public static async Task<ProxyServer> StartAsync(ProxyOptions options, TextWriter log, CancellationToken cancellationToken = default)
    {
        var runtime = ProxyRuntime.Build(options.Policy);
        var cert = LoadListenCertificate(options);
        var ca = LoadCa(options.BackendCaFile);
        if (options.Listen.Any(u => u.Scheme == "https") && cert is null)
            throw new ProxyStartException("an https:// listen address needs a certificate (--cert FILE, or certificate: in the config)");
        if (options.Admin is { } admin && options.Listen.Any(l => l.Host == admin.Host && l.Port == admin.Port && l.Port != 0))
            throw new ProxyStartException($"the admin address {admin} is also a published one: health and metrics need their own port");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        ProxyServer? server = null;
        // Kestrel's refusals of requests it could not parse (KestrelRefusals; Debug level for that provider and category
        // only, so that a service's event log does not get Kestrel's per-connection chatter).
        builder.Logging.AddProvider(new KestrelRefusals((connectionId, refusal) => server?.Refused(connectionId, refusal)));
        builder.Logging.AddFilter<KestrelRefusals>(KestrelRefusals.BadRequests, LogLevel.Debug);
        builder.Host.UseSystemd();
        builder.Host.UseWindowsService(o => o.ServiceName = "exir-proxy");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownGrace);
        builder.Services.AddHttpForwarder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestHeadersTotalSize = options.MaxHeaderBytes;
            k.Limits.MaxRequestLineSize = 16 * 1024;
            k.Limits.RequestHeadersTimeout = options.HeaderTimeout;
            k.Limits.MaxRequestBodySize = null; // per route, set on each request
            foreach (var uri in options.Listen)
                Listen(k, uri, lo =>
                {
                    // NTLM needs one client connection per upstream connection: HTTP/1.1 only (no multiplexing on either leg).
                    lo.Protocols = HttpProtocols.Http1;
                    if (uri.Scheme == "https") lo.UseHttps(cert!);
                    lo.Use(next => async connection =>
                    {
                        server!.Metrics.ConnectionOpened();
                        server._connections[connection.ConnectionId] = connection;
                        try { await next(connection); }
                        finally
                        {
                            server._connections.TryRemove(connection.ConnectionId, out _);
                            server.Metrics.ConnectionClosed();
                            server.DropUpstream(connection.ConnectionId);
                        }
                    });
                });
            if (options.Admin is { } a) Listen(k, a, lo => lo.Protocols = HttpProtocols.Http1AndHttp2);
        });
        var app = builder.Build();
        server = new ProxyServer(options, runtime, log, app, cert, ca);
        app.Run(server.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            await server.DisposeAsync();
            throw new ProxyStartException("cannot listen: " + (e.InnerException?.Message ?? e.Message), e);
        }
        server.ResolveAddresses();
        log.WriteLine($"exir proxy: listening on {string.Join(", ", server.Addresses)} -> {options.Backend.GetLeftPart(UriPartial.Authority)}; " +
                      runtime.Describe() + (server.AdminAddress is { } ad ? $"; health and metrics on {ad}" : "") +
                      (options.AccessLogDirectory is { } ald ? $"; access log in {ald}" : "; no access log (--access-log DIR)"));
        if (options.Backend.Scheme == "https" && !options.ValidateBackendCertificate && options.BackendCertificatePin is null)
            log.WriteLine("exir proxy: warning: the backend's certificate is not checked (validate: false): anyone on the path to Exchange can read the traffic");
        return server;
    }

    /// <summary>Everything <see cref="StartAsync"/> checks before it listens (rules, exposure, certificates), without listening: `exir proxy --check`.</summary>
    public static ProxyRuntime Validate(ProxyOptions options)
    {
        var runtime = ProxyRuntime.Build(options.Policy);
        using var cert = LoadListenCertificate(options);
        LoadCa(options.BackendCaFile);
        if (options.Listen.Any(u => u.Scheme == "https") && cert is null)
            throw new ProxyStartException("an https:// listen address needs a certificate (--cert FILE, or certificate: in the config)");
        return runtime;
    }

    private static void Listen(KestrelServerOptions k, Uri uri, Action<ListenOptions> configure)
    {
        var host = uri.Host.Trim('[', ']');
        if (host is "localhost") k.ListenLocalhost(uri.Port, configure);
        else if (host is "*" or "+" or "0.0.0.0" && uri.HostNameType != UriHostNameType.IPv6) k.ListenAnyIP(uri.Port, configure);
        else if (IPAddress.TryParse(host, out var ip)) k.Listen(ip, uri.Port, configure);
        else throw new ProxyStartException($"listen address {uri}: give an IP address (0.0.0.0 for all), not a name");
    }

    private void ResolveAddresses()
    {
        var feature = _app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>();
        var all = feature?.Addresses.Select(a => new Uri(a.Replace("[::]", "0.0.0.0", StringComparison.Ordinal))).ToList() ?? [];
        // Kestrel lists endpoints in the order they were added: the published ones, then the admin one.
        if (_options.Admin is not null && all.Count > 0)
        {
            AdminAddress = all[^1];
            all.RemoveAt(all.Count - 1);
        }
        Addresses = all;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var started = Stopwatch.GetTimestamp();
        if (AdminAddress is { } admin && ctx.Connection.LocalPort == admin.Port && IsAdminConnection(ctx))
        {
            await AdminAsync(ctx);
            return;
        }
        var runtime = _runtime;
        var client = ctx.Connection.RemoteIpAddress ?? IPAddress.None;
        var request = ctx.Request;
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "/";
        var headers = new List<Header>(request.Headers.Count + 2);
        foreach (var (name, values) in request.Headers)
            foreach (var v in values) headers.Add(new Header(name, v ?? ""));
        var normalised = RequestNormaliser.Normalise(request.Method, raw, headers);
        var outcome = runtime.Policy.Decide(normalised, client);
        foreach (var r in outcome.Rules.Matched) Metrics.Rule(r.Id);
        var route = runtime.Policy.Exposure.Find(normalised.PathLower);

        AccessLogAction action;
        if (!outcome.Forward)
        {
            action = outcome.Status switch { 400 => AccessLogAction.Reject, 403 => AccessLogAction.Block, 405 => AccessLogAction.Method, _ => AccessLogAction.NotFound };
            if (action == AccessLogAction.Block)
            {
                Findings.Add(BlockFinding(ctx, normalised, outcome, client, runtime));
                if (runtime.Settings.BlockAction == BlockAction.Abort)
                {
                    Log(ctx, normalised, outcome.Rules, action, 0, started, raw, null);
                    ctx.Abort();
                    return;
                }
                await Answer(ctx, runtime.Settings.BlockStatus, "Forbidden");
            }
            else await Answer(ctx, outcome.Status, outcome.Status switch { 400 => "Bad Request", 405 => "Method Not Allowed", _ => "Not Found" });
            Log(ctx, normalised, outcome.Rules, action, ctx.Response.StatusCode, started, raw, null);
            return;
        }

        if (!route!.InternalOnly && _failedLogons.IsLockedOut(client))
        {
            await Answer(ctx, 429, "Too Many Requests", ("Retry-After", ((int)runtime.Settings.FailedAuthWindow.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Log(ctx, normalised, outcome.Rules, AccessLogAction.RateLimit, 429, started, raw, null);
            return;
        }

        // The route's transport: body limit, and no minimum data rate where a trickle is the protocol.
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = route.MaxBodyBytes;
        if (route.MaxBodyBytes is { } max && request.ContentLength > max)
        {
            await Answer(ctx, 413, "Content Too Large");
            Log(ctx, normalised, outcome.Rules, AccessLogAction.Reject, 413, started, raw, null);
            return;
        }
        if (route.LongLived)
        {
            if (ctx.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } inRate) inRate.MinDataRate = null;
            if (ctx.Features.Get<IHttpMinResponseDataRateFeature>() is { } outRate) outRate.MinDataRate = null;
        }

        var pinned = _pinned.GetOrAdd(ctx.Connection.Id, static (_, self) =>
        {
            self.Metrics.UpstreamOpened();
            var link = new UpstreamLink();
            return new PinnedUpstream(new HttpMessageInvoker(self.CreateUpstreamHandler(link), disposeHandler: true), link);
        }, this);
        // A body without Expect: 100-continue goes through the gate, so that an answer Exchange gives before the body ends
        // reaches the client at once (HttpClient handles 100-continue itself).
        RequestBodyGate? gate = null;
        if ((request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0) && request.Headers.Expect.Count == 0)
        {
            var reader = request.BodyReader;
            request.Body = gate = new RequestBodyGate(request.Body, reader.CancelPendingRead, request.ContentLength, pinned.Link);
        }
        var error = await _forwarder.SendAsync(ctx, _backendPrefix, pinned.Invoker, runtime.ForwarderConfig(route), _transformer);
        if (gate is { EarlyAnswered: true })
        {
            // HttpClient believes it sent the whole body: that upstream connection is out of step, never reuse it.
            Metrics.EarlyAnswer();
            DropUpstream(ctx.Connection.Id);
            await LingerAsync(ctx, gate.Client);
        }
        action = AccessLogAction.Forward;
        if (error != ForwarderError.None)
        {
            Metrics.UpstreamError();
            action = AccessLogAction.Error;
            // The upstream connection is gone or unusable: the next request of this client gets a fresh one.
            if (error is ForwarderError.Request or ForwarderError.RequestTimedOut or ForwarderError.NoAvailableDestinations)
                DropUpstream(ctx.Connection.Id);
        }
        else if (!route.InternalOnly && FailedLogons.IsFailure(normalised.Method, request.Headers.Authorization.ToString(), ctx.Response.StatusCode,
                     ctx.Response.Headers.WWWAuthenticate, ctx.Response.Headers.Location.ToString(), normalised.PathLower))
        {
            Metrics.FailedLogon();
            if (_failedLogons.Failed(client))
            {
                Metrics.Lockout();
                Findings.Add(LockoutFinding(ctx, normalised, client, runtime));
            }
        }
        Log(ctx, normalised, outcome.Rules, action, ctx.Response.StatusCode, started, raw, error == ForwarderError.None ? null : error.ToString());
    }

    /// <summary>
    /// After an early answer the client's connection closes with its body unread. Closing at once would reset it, and
    /// a reset can make the client's kernel drop the answer unread: send the answer, then read and discard what the
    /// client still sends for a short, bounded while (nginx's lingering close), then close.
    /// </summary>
    private static async Task LingerAsync(HttpContext ctx, Stream clientBody)
    {
        try
        {
            await ctx.Response.CompleteAsync();
            using var time = new CancellationTokenSource(LingerTime);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                for (long total = 0; total < LingerBytes;)
                {
                    var n = await clientBody.ReadAsync(buffer, time.Token);
                    if (n == 0) break;
                    total += n;
                }
            }
            finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or Microsoft.AspNetCore.Http.BadHttpRequestException or InvalidOperationException) { }
    }

    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private const long LingerBytes = 8 << 20;

    private void DropUpstream(string connectionId)
    {
        if (!_pinned.TryRemove(connectionId, out var upstream)) return;
        upstream.Invoker.Dispose();
        Metrics.UpstreamClosed();
    }

    private bool IsAdminConnection(HttpContext ctx) =>
        AdminAddress is { } a && (a.Host is "0.0.0.0" || IPAddress.TryParse(a.Host.Trim('[', ']'), out var ip) && (ctx.Connection.LocalIpAddress?.Equals(ip) ?? false));

    private async Task AdminAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        if (path is "/health" or "/healthz")
        {
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync("ok\n");
        }
        else if (path == "/metrics")
        {
            ctx.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await ctx.Response.WriteAsync(Metrics.Render());
        }
        else ctx.Response.StatusCode = 404;
    }

    private static async Task Answer(HttpContext ctx, int status, string text, params (string Name, string Value)[] headers)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        foreach (var (n, v) in headers) ctx.Response.Headers[n] = v;
        // A refused request's body is not read: close the connection rather than drain what may be gigabytes.
        if (status >= 400 && (ctx.Request.ContentLength > 0 || ctx.Request.Headers.ContainsKey("Transfer-Encoding")))
            ctx.Response.Headers.Connection = "close";
        var body = System.Text.Encoding.UTF8.GetBytes(text + "\n");
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
    }

    private SocketsHttpHandler CreateUpstreamHandler(UpstreamLink link)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            // One upstream connection per client connection, never shared, never multiplexed.
            MaxConnectionsPerServer = 1,
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            // Byte-identical headers: no traceparent added on the way.
            ActivityHeadersPropagator = null,
        };
        var tls = _options.Backend.Scheme == "https";
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            Stream stream;
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            if (tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                try
                {
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = _options.Backend.IdnHost,
                        RemoteCertificateValidationCallback = ValidateBackend,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                    }, cancellationToken);
                }
                catch
                {
                    await ssl.DisposeAsync();
                    throw;
                }
                stream = ssl;
            }
            var upstream = new UpstreamStream(stream);
            link.Current = upstream;
            return upstream;
        };
        return handler;
    }

    private bool ValidateBackend(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null) return false;
        using var cert = new X509Certificate2(certificate);
        // Extended Protection binds Windows logons to the TLS channel's certificate: the client sees ours, Exchange checks its own.
        if (_listenCertificate is not null && !cert.RawData.AsSpan().SequenceEqual(_listenCertificate.RawData) && Interlocked.Exchange(ref _certificateWarned, 1) == 0)
            _log.WriteLine("exir proxy: warning: the backend presents another certificate than the proxy; with Extended Protection on, Exchange refuses " +
                           "NTLM/Negotiate logons through the proxy: install the same certificate on both (see README, 'exir proxy')");
        if (_options.BackendCertificatePin is { } pin)
            return Convert.ToHexString(SHA256.HashData(cert.RawData)) == pin;
        if (!_options.ValidateBackendCertificate) return true;
        if (errors == SslPolicyErrors.None) return true;
        if (_backendCa is { Count: > 0 } && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == 0)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_backendCa);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return custom.Build(cert);
        }
        return false;
    }

    private static X509Certificate2? LoadListenCertificate(ProxyOptions options)
    {
        if (options.Certificate is not { } c) return null;
        try
        {
            if (c.KeyFile is not null || c.File.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || c.File.EndsWith(".crt", StringComparison.OrdinalIgnoreCase))
            {
                using var pem = X509Certificate2.CreateFromPemFile(c.File, c.KeyFile);
                // Kestrel on Windows needs a key it can persist; re-import as PKCS#12 works on both.
                return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            var password = c.PasswordEnvironmentVariable is { } env ? Environment.GetEnvironmentVariable(env) : null;
            if (c.PasswordEnvironmentVariable is not null && password is null)
                throw new ProxyStartException($"certificate {c.File}: the environment variable {c.PasswordEnvironmentVariable} with its password is not set");
            var cert = X509CertificateLoader.LoadPkcs12FromFile(c.File, password);
            if (!cert.HasPrivateKey) throw new ProxyStartException($"certificate {c.File} has no private key");
            return cert;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ProxyStartException($"certificate {c.File}: {e.Message}", e);
        }
    }

    private static X509Certificate2Collection? LoadCa(string? file)
    {
        if (file is null) return null;
        try
        {
            var col = new X509Certificate2Collection();
            col.ImportFromPemFile(file);
            if (col.Count == 0) throw new ProxyStartException($"backend CA file {file} holds no certificate");
            return col;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ProxyStartException($"backend CA file {file}: {e.Message}", e);
        }
    }

    // ---- findings and the access log -------------------------------------------------------------------------

    private Finding BlockFinding(HttpContext ctx, NormalisedRequest n, PolicyOutcome outcome, IPAddress client, ProxyRuntime runtime)
    {
        var blocking = outcome.Rules.Matched.Where(r => r.Action == RuleAction.Block).ToList();
        var first = blocking[0];
        var details = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["action"] = runtime.Settings.BlockAction == BlockAction.Abort ? "abort" : runtime.Settings.BlockStatus.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["rules"] = string.Join(",", outcome.Rules.Matched.Select(r => r.Id)),
            ["method"] = n.Method,
            ["raw_target"] = Cap(n.RawTarget),
            ["normalised_path"] = Cap(n.Path),
            ["normalised_query"] = Cap(n.Query),
            ["decoded_uri"] = Cap(n.DecodedUri),
            ["wave"] = first.Wave,
            ["rule_file"] = $"{first.File}:{first.Line}",
            ["source"] = "exir proxy",
        };
        if (n.Anomalies != Anomaly.None) details["anomalies"] = string.Join(", ", n.AnomalyList);
        return ProxyFinding(ctx, n, client, first.Id, first.Title) with
        {
            Severity = Severity.High,
            Outcome = Outcome.Attempt,
            Cves = blocking.SelectMany(r => r.Cves).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
            Attack = ["T1190"],
            Details = details,
            Explanation = $"exir proxy refused the request before it reached Exchange ({blocking.Count} blocking rule(s)): it has the shape of a {first.Wave} exploit. " +
                          "Blocked means stopped here; look for the same client in Exchange's own logs for what came before the proxy.",
        };
    }

    private Finding LockoutFinding(HttpContext ctx, NormalisedRequest n, IPAddress client, ProxyRuntime runtime) =>
        ProxyFinding(ctx, n, client, "PX-AUTH-FAILED-LOGONS", "Many failed logons from one address (password spraying): locked out by exir proxy") with
        {
            Severity = Severity.Medium,
            Outcome = Outcome.Attempt,
            Attack = ["T1110.003"],
            Details = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["limit"] = runtime.Settings.FailedAuthLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["window_seconds"] = ((int)runtime.Settings.FailedAuthWindow.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["path"] = Cap(n.Path),
                ["source"] = "exir proxy",
            },
            Explanation = "More failed logons than the limit within the window came from this address; it gets 429 on the published routes until the window passes.",
        };

    private Finding ProxyFinding(HttpContext ctx, NormalisedRequest n, IPAddress client, string ruleId, string title) =>
        ProxyFinding(ctx.TraceIdentifier, Plain(client), ruleId, title, RawRequest(ctx, n));

    /// <summary>What every proxy finding has: the protected server, the request (access-log day and request id) as artifact, now, the client, the raw request.</summary>
    private Finding ProxyFinding(string requestId, string? client, string ruleId, string title, string evidence)
    {
        var now = DateTimeOffset.UtcNow;
        var artifact = $"{W3cAccessLogWriter.FileNameFor(DateOnly.FromDateTime(now.UtcDateTime))}#{requestId}";
        return new Finding
        {
            RuleId = ruleId,
            Title = title,
            Host = _hostName,
            HostId = _hostId,
            Artifact = artifact,
            Timestamp = now,
            TimeSource = TimeSources.LogLine,
            ClientIp = client,
            Evidence = evidence,
            Id = StableIds.Finding(_hostId, ruleId, artifact, null),
        };
    }

    /// <summary>The finding's rule id (and x-exir-rules token) of a request Kestrel refused before the proxy's handler saw it.</summary>
    public const string RefusedRuleId = "PX-HTTP-REFUSED";
    /// <summary>At most this many findings a second for refused requests; the rest are counted (a flood of garbage must not flood the case).</summary>
    public const int RefusalFindingsPerSecond = 20;

    /// <summary>At most <see cref="RefusalFindingsPerSecond"/> per clock second, exact under concurrency (one compare-and-swap of second and count).</summary>
    private bool TakeRefusalFindingSlot()
    {
        long second = Environment.TickCount64 / 1000;
        while (true)
        {
            long current = Volatile.Read(ref _refusalWindow);
            long count = current >> 20 == second ? current & 0xFFFFF : 0;
            if (count >= RefusalFindingsPerSecond) return false;
            if (Interlocked.CompareExchange(ref _refusalWindow, (second << 20) | (count + 1), current) == current) return true;
        }
    }

    /// <summary>
    /// A request Kestrel refused while parsing it (called from its logger, on the connection's thread): one access-log
    /// line like every other request, a count, and a finding (rate-limited) with the reason and the bytes Kestrel quotes.
    /// </summary>
    private void Refused(string connectionId, Microsoft.AspNetCore.Http.BadHttpRequestException refusal)
    {
        _connections.TryGetValue(connectionId, out var connection);
        var remote = (connection?.RemoteEndPoint as IPEndPoint)?.Address;
        var local = connection?.LocalEndPoint as IPEndPoint;
        var client = remote is null ? null : Plain(remote);
        Metrics.Request(ActionNames[(int)AccessLogAction.Reject]);
        Metrics.Refused(refusal.StatusCode);
        _accessLog?.Write(new AccessLogEntry
        {
            Time = DateTimeOffset.UtcNow,
            ServerIp = local?.Address.ToString(),
            Port = local?.Port ?? 0,
            ClientIp = client,
            Method = "",
            RawTarget = "",
            Status = refusal.StatusCode,
            Action = AccessLogAction.Reject,
            Rules = [RefusedRuleId],
        });

        if (!TakeRefusalFindingSlot())
        {
            Metrics.RefusalNotReported();
            return;
        }
        var status = refusal.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Findings.Add(ProxyFinding(connectionId, client, RefusedRuleId, "Malformed HTTP request refused before it reached Exchange", Cap(refusal.Message)) with
        {
            Severity = Severity.Low,
            Outcome = Outcome.Attempt,
            Attack = ["T1190"],
            Details = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["status"] = status,
                ["reason"] = Cap(refusal.Message),
                ["connection"] = connectionId,
                ["source"] = "exir proxy (HTTP parser)",
            },
            Explanation = $"The proxy's HTTP server refused the request with {status} before any rule read it (bad request line, invalid method, " +
                          "folded or oversized headers, conflicting Content-Length and Transfer-Encoding...): request smuggling and scanners send such " +
                          "requests; Exchange never saw it. The evidence is Kestrel's reason, with the offending bytes when it quotes them.",
        });
    }

    /// <summary>An address as logs write it (an IPv4 client on a dual-stack socket without the ::ffff: prefix).</summary>
    internal static string Plain(IPAddress address) => (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();

    /// <summary>The request line and headers as received (capped: evidence, not a copy of the traffic); credentials masked.</summary>
    private static string RawRequest(HttpContext ctx, NormalisedRequest n)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(n.Method).Append(' ').Append(n.RawTarget).Append(' ').Append(ctx.Request.Protocol).Append('\n');
        foreach (var (name, values) in ctx.Request.Headers)
            foreach (var v in values)
            {
                var value = name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
                    ? (v?.Split(' ', 2)[0] ?? "") + " (credentials not kept)" : v;
                sb.Append(name).Append(": ").Append(value).Append('\n');
                if (sb.Length > 8192) return sb.ToString(0, 8192) + "...(truncated)";
            }
        return sb.ToString();
    }

    private static readonly string[] ActionNames = Enum.GetNames<AccessLogAction>().Select(n => n.ToLowerInvariant()).ToArray();

    private static string Cap(string s) => s.Length <= 4096 ? s : s[..4096] + "...(truncated)";

    private void Log(HttpContext ctx, NormalisedRequest n, RuleVerdict verdict, AccessLogAction action, int status, long started, string raw, string? error)
    {
        Metrics.Request(ActionNames[(int)action]);
        if (_accessLog is null) return;
        var client = ctx.Connection.RemoteIpAddress;
        _accessLog.Write(new AccessLogEntry
        {
            Time = DateTimeOffset.UtcNow,
            ServerIp = ctx.Connection.LocalIpAddress?.ToString(),
            Method = n.Method,
            RawTarget = raw,
            Port = ctx.Connection.LocalPort,
            ClientIp = client is null ? null : Plain(client),
            HttpVersion = ctx.Request.Protocol,
            UserAgent = ctx.Request.Headers.UserAgent.ToString(),
            Cookie = ctx.Request.Headers.Cookie.ToString(),
            Referer = ctx.Request.Headers.Referer.ToString(),
            Host = ctx.Request.Host.Value,
            Status = status,
            BytesSent = ctx.Response.ContentLength ?? 0,
            BytesReceived = ctx.Request.ContentLength ?? 0,
            TimeTakenMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            ForwardedFor = action == AccessLogAction.Forward || action == AccessLogAction.Error ? ctx.Connection.RemoteIpAddress?.ToString() : null,
            Action = action,
            Rules = verdict.Matched.Select(r => r.Id).ToList(),
            Normalised = AccessLogEntry.NormalisedOf(n),
        });
        _ = error;
    }

    // ---- reload and stop -------------------------------------------------------------------------------------

    private void Reload(string file)
    {
        try
        {
            var next = ProxyConfigFile.Load(file);
            var runtime = ProxyRuntime.Build(next.Policy);
            if (!next.Listen.SequenceEqual(_options.Listen) || next.Backend != _options.Backend || next.Certificate != _options.Certificate || next.Admin != _options.Admin)
                _log.WriteLine("exir proxy: config changed listen, backend, certificate or admin: those take a restart; the rest applies now");
            // New limits start a new count (the old limiter is left to the requests still holding it).
            if (next.Policy.FailedAuthLimit != _runtime.Settings.FailedAuthLimit || next.Policy.FailedAuthWindow != _runtime.Settings.FailedAuthWindow)
                _failedLogons = new FailedLogons(next.Policy.FailedAuthLimit, next.Policy.FailedAuthWindow);
            _runtime = runtime;
            Metrics.Reloaded(true);
            _log.WriteLine($"exir proxy: reloaded {file}: {runtime.Describe()}");
        }
        catch (ProxyDataException e)
        {
            Metrics.Reloaded(false);
            _log.WriteLine($"exir proxy: config {file} not reloaded, the running one stays:");
            foreach (var p in e.Problems) _log.WriteLine("  " + p);
        }
    }

    /// <summary>Stops listening, lets requests in flight finish up to the grace time, then cuts the rest.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(_options.ShutdownGrace);
        try { await _app.StopAsync(grace.Token); }
        catch (OperationCanceledException) { }
    }

    /// <summary>Runs until the host is told to stop (Ctrl+C, SIGTERM, the service manager).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _watcher?.Dispose();
        await _app.DisposeAsync();
        foreach (var (_, upstream) in _pinned) upstream.Invoker.Dispose();
        _pinned.Clear();
        _failedLogons.Dispose();
        _accessLog?.Dispose();
        Findings.Complete();
    }
}

/// <summary>The upstream connection pinned to one client connection, and the link to its current stream (<see cref="RequestBodyGate"/>).</summary>
internal sealed record PinnedUpstream(HttpMessageInvoker Invoker, UpstreamLink Link);

/// <summary>Why the proxy could not start (address in use, certificate unreadable...): exit 2 with this message.</summary>
public sealed class ProxyStartException(string message, Exception? inner = null) : Exception(message, inner);
