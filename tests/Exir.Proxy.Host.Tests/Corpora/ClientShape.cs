using System.Text;

namespace Exir.Proxy.Host.Tests.Corpora;

/// <summary>How a shape logs on when it reaches an authenticating backend.</summary>
public enum ShapeAuth { None, Basic, Ntlm, OwaForms }

/// <summary>
/// One HTTP/1.1 request as a client puts it on the wire: method, target exactly as sent, header lines in order and
/// body. Host is not in <see cref="Headers"/>: whoever sends it adds the Host it talks to, first.
/// </summary>
public sealed record ClientShape(string Name, string Method, string Target, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    /// <summary>How the real client logs on (the header list already carries a Basic Authorization where Basic).</summary>
    public ShapeAuth Auth { get; init; }
    /// <summary>A declared Content-Length larger than <see cref="Body"/> (RPC_IN_DATA's 1 GB); null: the body's length.</summary>
    public long? DeclaredLength { get; init; }
    /// <summary>The status the shape should get from a proxy (attacks: 403, 400 or 404); 0 for benign shapes.</summary>
    public int ExpectedStatus { get; init; }
    /// <summary>The wave of an attack ("ProxyLogon", "ProxyShell", "ProxyNotShell", "OWASSRF", "post-exploitation").</summary>
    public string? Wave { get; init; }

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>The request bytes: request line, Host, the header lines in order, Content-Length when there is a body, body.</summary>
    public byte[] ToWire(string host, bool withBody = true)
    {
        var head = new StringBuilder();
        head.Append(Method).Append(' ').Append(Target).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(host).Append("\r\n");
        foreach (var (n, v) in Headers) head.Append(n).Append(": ").Append(v).Append("\r\n");
        var length = DeclaredLength ?? Body.Length;
        if (length > 0 || Method is "POST" or "RPC_IN_DATA" or "RPC_OUT_DATA")
            head.Append("Content-Length: ").Append(length).Append("\r\n");
        head.Append("\r\n");
        var bytes = Encoding.Latin1.GetBytes(head.ToString());
        return withBody ? [.. bytes, .. Body] : bytes;
    }

    public ClientShape WithHeader(string name, string value) =>
        this with { Headers = [.. Headers.Where(h => !h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)), new(name, value)] };

    public ClientShape WithoutHeader(string name) =>
        this with { Headers = [.. Headers.Where(h => !h.Key.Equals(name, StringComparison.OrdinalIgnoreCase))] };

    public override string ToString() => Name;

    internal static IReadOnlyList<KeyValuePair<string, string>> H(params string[] lines) =>
        lines.Select(l => { var i = l.IndexOf(':'); return new KeyValuePair<string, string>(l[..i], l[(i + 1)..].TrimStart()); }).ToArray();
}
