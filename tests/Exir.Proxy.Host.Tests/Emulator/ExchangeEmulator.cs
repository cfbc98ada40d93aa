using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>
/// An in-process stand-in for an Exchange server behind IIS, for proxy tests: Kestrel on 127.0.0.1 (random port,
/// HTTP/1.1, optionally TLS), records every request it receives, answers like Exchange's virtual directories
/// (connection-bound NTLM, Basic, OWA forms logon, MAPI/HTTP PENDING streaming, ActiveSync Ping hanging,
/// RPC over HTTP's 1 GB channels) and leaks the headers Exchange leaks so a proxy can be checked for removing them.
/// </summary>
public sealed partial class ExchangeEmulator : IAsyncDisposable
{
    /// <summary>Each response names the user it was answered as here (empty name: anonymous). A proxy must pass it.</summary>
    public const string UserHeader = "X-Emu-User";
    /// <summary>Each response names the emulator's connection id here, so a test can tell connections apart.</summary>
    public const string ConnectionHeader = "X-Emu-Connection";

    /// <summary>Response headers Exchange and IIS send that name servers, versions and internals (a proxy strips them).</summary>
    public static readonly IReadOnlyList<string> LeakingHeaders =
        ["X-FEServer", "X-BEServer", "X-CalculatedBETarget", "X-OWA-Version", "X-DiagInfo", "X-AspNet-Version", "X-Powered-By", "X-BackEndHttpStatus"];

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, int> _failedLogins = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _arrived = new(0);
    private long _sequence;

    public EmulatorOptions Options { get; }
    /// <summary>http://127.0.0.1:port/ (null when Http is off).</summary>
    public Uri? HttpAddress { get; private set; }
    /// <summary>https://127.0.0.1:port/ (null unless Https).</summary>
    public Uri? HttpsAddress { get; private set; }
    /// <summary>The TLS server certificate (null unless Https).</summary>
    public X509Certificate2? Certificate { get; }
    /// <summary>The plain address when there is one, else the TLS one.</summary>
    public Uri Address => HttpAddress ?? HttpsAddress!;

    private ExchangeEmulator(EmulatorOptions options)
    {
        Options = options;
        if (options.Https) Certificate = TestCertificate.Create();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null;          // RPC_IN_DATA declares 1 GB
            k.Limits.MinRequestBodyDataRate = null;      // ... and trickles it
            k.Limits.MinResponseDataRate = null;         // RPC_OUT_DATA readers are slow too
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(5);
            k.RequestHeaderEncodingSelector = _ => Encoding.Latin1; // header bytes recorded one to one
            if (options.Http) k.Listen(IPAddress.Loopback, options.HttpPort, l => l.Protocols = HttpProtocols.Http1);
            if (options.Https)
                k.Listen(IPAddress.Loopback, 0, l =>
                {
                    l.Protocols = HttpProtocols.Http1;
                    l.UseHttps(Certificate!);
                });
        });
        _app = builder.Build();
        _app.Run(HandleAsync);
    }

    public static async Task<ExchangeEmulator> StartAsync(EmulatorOptions? options = null, CancellationToken ct = default)
    {
        var emulator = new ExchangeEmulator(options ?? new EmulatorOptions());
        await emulator._app.StartAsync(ct);
        var addresses = emulator._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        foreach (var a in addresses)
        {
            var uri = new Uri(a.EndsWith('/') ? a : a + "/");
            if (uri.Scheme == Uri.UriSchemeHttps) emulator.HttpsAddress = uri; else emulator.HttpAddress = uri;
        }
        return emulator;
    }

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>Forget the requests recorded so far (a test's setup traffic).</summary>
    public void ClearRequests() => _requests.Clear();

    /// <summary>Failed logins (NTLM type 3, Basic, OWA forms) per user name.</summary>
    public int FailedLogins(string user) => _failedLogins.TryGetValue(user, out var n) ? n : 0;

    /// <summary>The first recorded request matching, waiting for it up to the timeout (then throws TimeoutException).</summary>
    public async Task<RecordedRequest> WaitForRequestAsync(Func<RecordedRequest, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var found = _requests.FirstOrDefault(match);
            if (found is not null) return found;
            try { await _arrived.WaitAsync(TimeSpan.FromMilliseconds(20), cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"no matching request at the emulator within {timeout}"); }
        }
    }

    /// <summary>Polls until the condition holds or the timeout passes; returns whether it held.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > end) return false;
            await Task.Delay(20);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try { await _app.StopAsync(cts.Token); } catch (OperationCanceledException) { }
        }
        await _app.DisposeAsync();
        Certificate?.Dispose();
        _arrived.Dispose();
    }

    private RecordedRequest Record(HttpContext ctx)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in ctx.Request.Headers)
            foreach (var v in values)
                headers.Add(new(name, v ?? ""));
        var rec = new RecordedRequest
        {
            Sequence = Interlocked.Increment(ref _sequence),
            ConnectionId = ctx.Connection.Id,
            ReceivedAt = DateTimeOffset.UtcNow,
            Scheme = ctx.Request.Scheme,
            Method = ctx.Request.Method,
            RawTarget = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? ctx.Request.Path + ctx.Request.QueryString,
            Protocol = ctx.Request.Protocol,
            RemoteAddress = ctx.Connection.RemoteIpAddress?.ToString() ?? "",
            Headers = headers,
        };
        _requests.Enqueue(rec);
        _arrived.Release();
        return rec;
    }

    /// <summary>Reads the whole body as it comes, counting and hashing; kept whole up to the record limit.</summary>
    private async Task<byte[]?> ReadBodyAsync(HttpContext ctx, RecordedRequest rec)
    {
        rec.BodyRead = true;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var limit = Options.BodyRecordLimit;
        MemoryStream? kept = new();
        var buffer = new byte[64 << 10];
        long total = 0;
        while (true)
        {
            int n;
            try { n = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted); }
            catch (Exception e) when (e is IOException or OperationCanceledException or Microsoft.AspNetCore.Http.BadHttpRequestException)
            {
                rec.Aborted = true;
                return null;
            }
            if (n == 0) break;
            total += n;
            hash.AppendData(buffer, 0, n);
            rec.AddBodyBytes(n);
            if (kept is not null)
            {
                if (kept.Length + n <= limit) kept.Write(buffer, 0, n);
                else { kept.Dispose(); kept = null; }
            }
        }
        var body = kept?.ToArray();
        rec.EndBody(body, total, hash);
        return body ?? [];
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var rec = Record(ctx);
        try
        {
            AddExchangeHeaders(ctx);
            await DispatchAsync(ctx, rec);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException || ctx.RequestAborted.IsCancellationRequested)
        {
            rec.Aborted = true;
        }
        catch (Exception e)
        {
            // An emulator bug: keep it for the test's message and answer 500 as IIS would.
            rec.Error = e;
            if (!ctx.Response.HasStarted) ctx.Response.StatusCode = 500;
        }
        finally
        {
            rec.Status = ctx.Response.StatusCode;
            rec.Complete();
        }
    }

    private void AddExchangeHeaders(HttpContext ctx)
    {
        var h = ctx.Response.Headers;
        var server = Options.ServerName;
        h["Server"] = "Microsoft-IIS/10.0";
        h["request-id"] = Guid.NewGuid().ToString();
        h["X-FEServer"] = server;
        h["X-BEServer"] = server;
        h["X-CalculatedBETarget"] = $"{server.ToLowerInvariant()}.contoso.local";
        h["X-OWA-Version"] = "15.2.1544.4";
        h["X-DiagInfo"] = server;
        h["X-AspNet-Version"] = "4.0.30319";
        h["X-Powered-By"] = "ASP.NET";
        h["X-BackEndHttpStatus"] = "200";
        h[ConnectionHeader] = ctx.Connection.Id;
    }

    private void SetUser(HttpContext ctx, RecordedRequest rec, string? user)
    {
        rec.User = user;
        ctx.Response.Headers[UserHeader] = user ?? "";
    }

    private void CountFailure(string user) => _failedLogins.AddOrUpdate(user, 1, (_, n) => n + 1);

    private bool CheckPassword(string user, string password) =>
        Options.Users.TryGetValue(user, out var expected) &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(password));
}
