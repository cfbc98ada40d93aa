using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Exir.Proxy.Host;

/// <summary>
/// What changes between the client's request and Exchange's: nothing in the target (forwarded byte for byte, as
/// judged), the client's Host kept (Exchange builds its URLs and picks its virtual directory from it), and
/// X-Forwarded-For set to the client (appended to only for trusted forwarders, so nobody fakes an address into
/// Exchange's logs). On the way back the headers that describe Exchange's insides are dropped.
/// </summary>
public sealed class ExchangeTransformer(Func<ProxyRuntime> runtime) : HttpTransformer
{
    /// <summary>Response headers that name servers, versions and routing inside the organisation.</summary>
    public static readonly string[] LeakingHeaders =
        ["X-FEServer", "X-BEServer", "X-CalculatedBETarget", "X-OWA-Version", "X-DiagInfo", "X-AspNet-Version", "X-Powered-By",
         "X-FEProxyInfo", "X-BackEndHttpStatus", "X-TargetBEServer", "X-FirstHopCafeEFZ", "X-AspNetMvc-Version", "X-SourceFiles"];

    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var raw = httpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        // Origin form goes as it came: re-encoding it would forward another request than the one the rules judged.
        if (raw is { Length: > 0 } && raw[0] == '/')
            proxyRequest.RequestUri = new Uri(destinationPrefix.TrimEnd('/') + raw, in Verbatim);
        proxyRequest.Headers.Host = httpContext.Request.Host.Value;

        var client = httpContext.Connection.RemoteIpAddress;
        var before = httpContext.Request.Headers["X-Forwarded-For"].ToString();
        proxyRequest.Headers.Remove("X-Forwarded-For");
        if (client is not null)
        {
            var ip = ProxyServer.Plain(client);
            var value = before.Length > 0 && runtime().IsTrustedForwarder(client) ? before + ", " + ip : ip;
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-For", value);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var go = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        foreach (var h in LeakingHeaders) httpContext.Response.Headers.Remove(h);
        // Exchange answered before the body ended and the rest was not read: the client's connection cannot go on.
        if (httpContext.Request.Body is RequestBodyGate { EarlyAnswered: true }) httpContext.Response.Headers.Connection = "close";
        return go;
    }
}
