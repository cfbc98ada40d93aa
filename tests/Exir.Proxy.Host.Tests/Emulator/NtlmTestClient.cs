using System.Net;
using System.Net.Http.Headers;

namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>
/// One client connection (SocketsHttpHandler with MaxConnectionsPerServer = 1, HTTP/1.1, no cookies, no redirects)
/// that logs in with the emulator's NTLM-shaped three-leg handshake, as Outlook does on one TCP connection.
/// </summary>
public sealed class NtlmTestClient : IDisposable
{
    public HttpClient Http { get; }
    public string Domain { get; init; } = "CONTOSO";

    public NtlmTestClient(Uri baseAddress, TimeSpan? timeout = null)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseCookies = false,
            AllowAutoRedirect = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true; // tests' self-signed certificates
        Http = new HttpClient(handler)
        {
            BaseAddress = baseAddress,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>Leg 1: sends the type 1 and returns the 401 carrying the type 2 (with its challenge, null when absent).</summary>
    public async Task<(HttpResponseMessage Response, byte[]? Challenge)> NegotiateAsync(string path = "/EWS/Exchange.asmx", string scheme = "NTLM")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue(scheme, Convert.ToBase64String(NtlmMessages.Type1()));
        var response = await SendAndDrainAsync(request);
        byte[]? challenge = null;
        foreach (var value in response.Headers.WwwAuthenticate)
            if (value.Parameter is { Length: > 0 } p && NtlmMessages.TryGetChallenge(Convert.FromBase64String(p), out var c))
                challenge = c;
        return (response, challenge);
    }

    /// <summary>Leg 3: the type 3 for a user and password over a challenge (a test may pass another connection's).</summary>
    public Task<HttpResponseMessage> AuthenticateAsync(string user, string password, byte[] challenge, string path = "/EWS/Exchange.asmx", string scheme = "NTLM")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue(scheme, Convert.ToBase64String(Type3(user, password, challenge)));
        return SendAndDrainAsync(request);
    }

    public byte[] Type3(string user, string password, byte[] challenge) =>
        NtlmMessages.Type3(Domain, user, "WKS01", NtlmMessages.Proof(password, challenge));

    /// <summary>The whole handshake; returns the final response (200 with the user header when it worked).</summary>
    public async Task<HttpResponseMessage> LoginAsync(string user, string password, string path = "/EWS/Exchange.asmx")
    {
        var (first, challenge) = await NegotiateAsync(path);
        if (challenge is null) return first;
        first.Dispose();
        return await AuthenticateAsync(user, password, challenge, path);
    }

    /// <summary>Sends and reads the whole body (so the connection is free for the next request).</summary>
    public async Task<HttpResponseMessage> SendAndDrainAsync(HttpRequestMessage request)
    {
        var response = await Http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    public Task<HttpResponseMessage> GetAsync(string path) => SendAndDrainAsync(new HttpRequestMessage(HttpMethod.Get, path));

    /// <summary>The user the emulator answered as (its user header), or null when the response has none.</summary>
    public static string? UserOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(ExchangeEmulator.UserHeader, out var v) ? v.FirstOrDefault() : null;

    public void Dispose() => Http.Dispose();
}
