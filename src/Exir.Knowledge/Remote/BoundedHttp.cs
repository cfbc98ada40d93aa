using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;

namespace Exir.Knowledge.Remote;

/// <summary>Limits for talking to a host we do not trust to behave.</summary>
public sealed record RemoteCheckOptions
{
    /// <summary>Whole-request budget (connect, headers and body): a slow-drip server cannot hold a check longer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    public int MaxRedirects { get; init; } = 5;
    /// <summary>Bodies are read up to this size and the rest dropped: an endless body cannot exhaust memory.</summary>
    public int MaxBodyBytes { get; init; } = 512 * 1024;
    /// <summary>Accept any TLS certificate (self-signed lab servers). Off by default; the report warns when on.</summary>
    public bool Insecure { get; init; }
    /// <summary>Date for the support check (default: today).</summary>
    public DateOnly? AsOf { get; init; }
    public string UserAgent { get; init; } = "exir/0.1 (authorised Exchange patch check)";
}

public enum FetchFailure { None, Timeout, Tls, Connect, ConnectionAborted, RedirectLimit, CrossOriginRedirect, Other }

/// <summary>One GET, after any redirects followed: status, headers of every hop, and a capped body.</summary>
internal sealed record HttpFetch(Uri Uri, int Status, IReadOnlyList<KeyValuePair<string, string>> Headers,
    IReadOnlyList<KeyValuePair<string, string>> AllHopHeaders, string Body, bool BodyTruncated, int Redirects,
    string? ContentType, FetchFailure Failure, string? Error)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    public string? AnyHopHeader(string name) => AllHopHeaders.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    public bool Completed => Status > 0;
}

/// <summary>
/// GET-only HTTP with the limits of <see cref="RemoteCheckOptions"/>. Redirects are followed by hand so
/// they can be counted and kept on the origin being checked: same scheme, host and port. The server chooses
/// where its redirects point, so following one to another port would send exir to another service, and
/// https to http would send the request in clear; such a redirect ends the fetch with its target named, and
/// the user can check that URL on purpose.
/// </summary>
internal sealed class BoundedHttp : IDisposable
{
    private readonly HttpClient _client;
    private readonly RemoteCheckOptions _options;

    public BoundedHttp(RemoteCheckOptions options)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.Timeout,
            MaxResponseHeadersLength = 64,
            MaxConnectionsPerServer = 4,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            UseProxy = false,
        };
        if (options.Insecure)
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true };
        _client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    public async Task<HttpFetch> GetAsync(Uri uri, bool followRedirects, string? cookie = null, CancellationToken cancellationToken = default)
    {
        var allHeaders = new List<KeyValuePair<string, string>>();
        var current = uri;
        int redirects = 0;
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(_options.Timeout);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            request.Headers.UserAgent.ParseAdd(_options.UserAgent);
            request.Headers.Accept.ParseAdd("*/*");
            if (cookie is not null) request.Headers.TryAddWithoutValidation("Cookie", cookie);
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, budget.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                if (cancellationToken.IsCancellationRequested) throw;
                var (kind, message) = Classify(e);
                return Failed(current, allHeaders, redirects, kind, message);
            }
            using (response)
            {
                var headers = Flatten(response.Headers, response.Content.Headers);
                allHeaders.AddRange(headers);
                int status = (int)response.StatusCode;
                if (followRedirects && status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
                {
                    var next = location.IsAbsoluteUri ? location : new Uri(current, location);
                    if (CrossOrigin(uri, next) is { } why)
                        return new HttpFetch(current, status, headers, allHeaders, "", false, redirects, null, FetchFailure.CrossOriginRedirect,
                            $"redirect to {Shown(next)} not followed ({why}; the check stays on {uri.GetLeftPart(UriPartial.Authority)}, check that URL on purpose if it is the same server)");
                    if (++redirects > _options.MaxRedirects)
                        return new HttpFetch(current, status, headers, allHeaders, "", false, redirects - 1, null, FetchFailure.RedirectLimit,
                            $"more than {_options.MaxRedirects} redirects (loop?)");
                    current = next;
                    continue;
                }
                var (body, truncated, failure, error) = await ReadCappedAsync(response, budget.Token, cancellationToken).ConfigureAwait(false);
                return new HttpFetch(current, status, headers, allHeaders, body, truncated, redirects,
                    response.Content.Headers.ContentType?.MediaType, failure, error);
            }
        }
    }

    private async Task<(string Body, bool Truncated, FetchFailure Failure, string? Error)> ReadCappedAsync(HttpResponseMessage response, CancellationToken budget, CancellationToken outer)
    {
        var buffer = new byte[Math.Min(_options.MaxBodyBytes, 64 * 1024)];
        using var ms = new MemoryStream();
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(budget).ConfigureAwait(false);
            while (ms.Length < _options.MaxBodyBytes)
            {
                int want = (int)Math.Min(buffer.Length, _options.MaxBodyBytes - ms.Length);
                int n = await stream.ReadAsync(buffer.AsMemory(0, want), budget).ConfigureAwait(false);
                if (n == 0) return (Decode(ms), false, FetchFailure.None, null);
                ms.Write(buffer, 0, n);
            }
            return (Decode(ms), true, FetchFailure.None, $"body larger than {_options.MaxBodyBytes:N0} bytes; the rest was not read");
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            if (outer.IsCancellationRequested) throw;
            var (kind, message) = Classify(e);
            return (Decode(ms), true, kind, "body: " + message);
        }
    }

    /// <summary>Why <paramref name="next"/> is not the origin of <paramref name="origin"/>; null when it is.</summary>
    internal static string? CrossOrigin(Uri origin, Uri next)
    {
        if (next.Scheme is not ("http" or "https")) return $"another scheme, {next.Scheme}";
        if (!string.Equals(next.IdnHost, origin.IdnHost, StringComparison.OrdinalIgnoreCase)) return "another host";
        if (origin.Scheme == "https" && next.Scheme == "http") return "a downgrade from https to http";
        if (next.Scheme != origin.Scheme) return $"another scheme, {next.Scheme}";
        if (next.Port != origin.Port) return "another port";
        return null;
    }

    // The server's Location, as a URI (control characters percent-encoded), capped: it goes into reports.
    private static string Shown(Uri u)
    {
        var s = u.IsAbsoluteUri ? u.AbsoluteUri : u.OriginalString;
        return s.Length <= 200 ? s : s[..200] + "...";
    }

    private string? _timeoutText;
    private (FetchFailure, string) Classify(Exception e)
    {
        _timeoutText ??= $"timed out after {_options.Timeout.TotalSeconds:0.#} s";
        if (e is OperationCanceledException) return (FetchFailure.Timeout, _timeoutText);
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException)
                return (FetchFailure.Tls, $"TLS failed: {inner.Message} (the certificate is not trusted; use --insecure only for a lab server you control)");
            if (inner is System.Net.Sockets.SocketException se)
                return se.SocketErrorCode is System.Net.Sockets.SocketError.ConnectionReset
                    ? (FetchFailure.ConnectionAborted, "connection reset by the server")
                    : (FetchFailure.Connect, $"cannot connect: {se.Message}");
        }
        if (e is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } || e.InnerException is IOException || e is IOException)
            return (FetchFailure.ConnectionAborted, $"connection closed by the server ({e.Message})");
        return (FetchFailure.Other, e.Message);
    }

    private static HttpFetch Failed(Uri uri, List<KeyValuePair<string, string>> all, int redirects, FetchFailure kind, string message) =>
        new(uri, 0, [], all, "", false, redirects, null, kind, message);

    private static List<KeyValuePair<string, string>> Flatten(HttpResponseHeaders h, HttpContentHeaders c)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var kv in h) list.Add(new(kv.Key, string.Join(", ", kv.Value)));
        foreach (var kv in c) list.Add(new(kv.Key, string.Join(", ", kv.Value)));
        return list;
    }

    // Exchange pages are UTF-8; a lossy decode is fine for pattern matching and never throws.
    private static string Decode(MemoryStream ms) => Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);

    public void Dispose() => _client.Dispose();
}
