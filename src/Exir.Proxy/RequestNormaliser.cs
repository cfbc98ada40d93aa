using System.Buffers;
using System.Text;

namespace Exir.Proxy;

/// <summary>Something odd about a request's encoding. The ambiguous ones mean a backend might read the request differently than the rules did.</summary>
[Flags]
public enum Anomaly
{
    None = 0,
    /// <summary>Percent-decoding changed the text more than once (double encoding).</summary>
    MultipleEncoding = 1 << 0,
    /// <summary>Still changing after the last allowed round: ambiguous.</summary>
    ExcessiveEncoding = 1 << 1,
    /// <summary>IIS's non-standard %uXXXX form.</summary>
    PercentU = 1 << 2,
    /// <summary>A '%' not followed by two hex digits (kept as is).</summary>
    MalformedPercent = 1 << 3,
    Backslash = 1 << 4,
    DuplicateSlashes = 1 << 5,
    DotSegments = 1 << 6,
    PathParameters = 1 << 7,
    /// <summary>"/.." past the root: ambiguous.</summary>
    AboveRoot = 1 << 8,
    /// <summary>An overlong UTF-8 sequence (e.g. %c0%af for '/'): ambiguous.</summary>
    OverlongUtf8 = 1 << 9,
    /// <summary>Bytes that are not UTF-8: ambiguous.</summary>
    InvalidUtf8 = 1 << 10,
    /// <summary>A NUL byte: ambiguous.</summary>
    NulByte = 1 << 11,
    /// <summary>Another control character (CR, LF, TAB...): ambiguous.</summary>
    ControlCharacter = 1 << 12,
    /// <summary>The target was absolute (scheme and host); the path was taken from it.</summary>
    AbsoluteForm = 1 << 13,
    /// <summary>A '#' fragment, which clients never send.</summary>
    Fragment = 1 << 14,
    /// <summary>A cookie whose value could not be decoded cleanly: ambiguous.</summary>
    BadCookie = 1 << 15,
}

/// <summary>A header as received (name and value, unchanged).</summary>
public readonly record struct Header(string Name, string Value);

/// <summary>A cookie with name and value percent-decoded (bounded rounds, like the URI).</summary>
public readonly record struct Cookie(string Name, string Value);

/// <summary>The forms rules match: every string exists as is and case-folded (the *Lower copies), so matching is ordinal.</summary>
public sealed class NormalisedRequest
{
    public required string Method { get; init; }
    public required string RawTarget { get; init; }
    /// <summary>Decoded, backslashes turned, ';' parameters removed, dot segments resolved, slashes collapsed.</summary>
    public required string Path { get; init; }
    public required string PathLower { get; init; }
    /// <summary>Decoded query ('+' is a space), without the '?'.</summary>
    public required string Query { get; init; }
    public required string QueryLower { get; init; }
    /// <summary>The whole target decoded without any path clean-up: what Microsoft's {UrlDecode:{REQUEST_URI}} rules see, only decoded until stable.</summary>
    public required string DecodedUri { get; init; }
    public required string DecodedUriLower { get; init; }
    public required IReadOnlyList<Header> Headers { get; init; }
    public required IReadOnlyList<Cookie> Cookies { get; init; }
    public required string UserAgent { get; init; }
    public required Anomaly Anomalies { get; init; }
    /// <summary>How many decoding rounds changed the URI (0: nothing encoded).</summary>
    public required int DecodingRounds { get; init; }

    public const Anomaly AmbiguousAnomalies = Anomaly.ExcessiveEncoding | Anomaly.OverlongUtf8 | Anomaly.InvalidUtf8
        | Anomaly.NulByte | Anomaly.ControlCharacter | Anomaly.AboveRoot | Anomaly.BadCookie;

    /// <summary>True when a backend could read this request differently than the rules: reject it.</summary>
    public bool IsAmbiguous => (Anomalies & AmbiguousAnomalies) != 0;

    /// <summary>The anomalies as a list, for logging.</summary>
    public IReadOnlyList<Anomaly> AnomalyList =>
        Enum.GetValues<Anomaly>().Where(a => a != Anomaly.None && (Anomalies & a) != 0).ToList();
}

/// <summary>
/// Turns a raw request into the forms the exposure and the rules judge. Decodes repeatedly (attackers encode twice
/// to pass a filter that decodes once and a backend that decodes again), resolves what IIS and Exchange resolve
/// (backslashes, dot segments, ';' parameters, doubled slashes) and flags what cannot be read one way only.
/// Runs on every request: works in place on one pooled byte buffer per string.
/// </summary>
public static class RequestNormaliser
{
    /// <summary>Decoding rounds allowed; text still changing after these is ambiguous (no client encodes 4 times).</summary>
    public const int MaxRounds = 4;

    private const int StackLimit = 512;

    // Throws on a lone UTF-16 surrogate instead of silently writing U+FFFD: such a target is not text.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static NormalisedRequest Normalise(string method, string rawTarget, IReadOnlyList<Header> headers)
    {
        var anomalies = Anomaly.None;
        var target = rawTarget.AsSpan();

        // Absolute form (proxies may see it): keep path and query only.
        var schemeEnd = target.IndexOf("://".AsSpan(), StringComparison.Ordinal);
        if (schemeEnd > 0 && schemeEnd < 8 && target[..schemeEnd].IndexOfAny('/', '?') < 0)
        {
            anomalies |= Anomaly.AbsoluteForm;
            var rest = target[(schemeEnd + 3)..];
            var slash = rest.IndexOfAny('/', '?');
            target = slash < 0 ? "/".AsSpan() : rest[slash..];
        }
        var hash = target.IndexOf('#');
        if (hash >= 0) { anomalies |= Anomaly.Fragment; target = target[..hash]; }

        // The split is on the raw '?': an encoded %3F belongs to the path, as the server reads it.
        var q = target.IndexOf('?');
        var rawPath = q < 0 ? target : target[..q];
        var rawQuery = q < 0 ? ReadOnlySpan<char>.Empty : target[(q + 1)..];

        var path = Decode(rawPath, plusIsSpace: false, ref anomalies, out var pathRounds);
        var query = Decode(rawQuery, plusIsSpace: true, ref anomalies, out var queryRounds);
        var rounds = Math.Max(pathRounds, queryRounds);
        if (rounds > 1) anomalies |= Anomaly.MultipleEncoding;

        var decodedUri = query.Length == 0 && q < 0 ? path : string.Concat(path, "?", query);
        var cleanPath = CleanPath(path, ref anomalies);

        var cookies = new List<Cookie>();
        var userAgent = "";
        foreach (var h in headers)
        {
            if (h.Name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)) ParseCookies(h.Value, cookies, ref anomalies);
            else if (h.Name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase)) userAgent = h.Value;
        }

        return new NormalisedRequest
        {
            Method = method.ToUpperInvariant(),
            RawTarget = rawTarget,
            Path = cleanPath,
            PathLower = cleanPath.ToLowerInvariant(),
            Query = query,
            QueryLower = query.ToLowerInvariant(),
            DecodedUri = decodedUri,
            DecodedUriLower = decodedUri.ToLowerInvariant(),
            Headers = headers,
            Cookies = cookies,
            UserAgent = userAgent,
            Anomalies = anomalies,
            DecodingRounds = rounds,
        };
    }

    /// <summary>
    /// Percent-decodes (and %uXXXX, and '+' in a query) until nothing changes, at most <see cref="MaxRounds"/> rounds,
    /// then checks the bytes are strict UTF-8 without NUL or control characters.
    /// </summary>
    public static string Decode(ReadOnlySpan<char> text, bool plusIsSpace, ref Anomaly anomalies, out int rounds)
    {
        rounds = 0;
        if (text.IsEmpty) return "";
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int length;
            try { length = StrictUtf8.GetBytes(text, buffer); }
            catch (EncoderFallbackException)
            {
                anomalies |= Anomaly.InvalidUtf8;
                length = Encoding.UTF8.GetBytes(text, buffer);
            }
            // Decoding only shrinks the text, so each round works in place.
            while (true)
            {
                var changed = DecodeOnce(buffer, ref length, plusIsSpace && rounds == 0, ref anomalies);
                if (!changed) break;
                if (rounds == MaxRounds) { anomalies |= Anomaly.ExcessiveEncoding; break; }
                rounds++;
            }
            var bytes = buffer[..length];
            anomalies |= CheckUtf8(bytes);
            return Encoding.UTF8.GetString(bytes);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>One round; returns whether anything was decoded. '+' becomes a space only in the first round (it is the form's encoding, not a second layer).</summary>
    private static bool DecodeOnce(Span<byte> buffer, ref int length, bool plusIsSpace, ref Anomaly anomalies)
    {
        var changed = false;
        var w = 0;
        for (var r = 0; r < length; r++)
        {
            var b = buffer[r];
            if (b == (byte)'+' && plusIsSpace) { buffer[w++] = (byte)' '; changed = true; continue; }
            if (b != (byte)'%') { buffer[w++] = b; continue; }
            if (r + 2 < length && Hex(buffer[r + 1]) is var h1 and >= 0 && Hex(buffer[r + 2]) is var h2 and >= 0)
            {
                buffer[w++] = (byte)(h1 << 4 | h2);
                r += 2;
                changed = true;
                continue;
            }
            if (r + 5 < length && (buffer[r + 1] | 0x20) == 'u'
                && Hex(buffer[r + 2]) is var u1 and >= 0 && Hex(buffer[r + 3]) is var u2 and >= 0
                && Hex(buffer[r + 4]) is var u3 and >= 0 && Hex(buffer[r + 5]) is var u4 and >= 0)
            {
                anomalies |= Anomaly.PercentU;
                var code = u1 << 12 | u2 << 8 | u3 << 4 | u4;
                if (code is >= 0xD800 and <= 0xDFFF) { anomalies |= Anomaly.InvalidUtf8; code = 0xFFFD; }
                // 6 input bytes, at most 3 out: still in place.
                w += new Rune(code).EncodeToUtf8(buffer[w..]);
                r += 5;
                changed = true;
                continue;
            }
            // A '%' at the very end of a round's output may be completed by nothing: leave it, note it.
            anomalies |= Anomaly.MalformedPercent;
            buffer[w++] = b;
        }
        length = w;
        return changed;
    }

    private static int Hex(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Strict UTF-8: overlong forms (C0/C1, E0 80-9F, F0 80-8F) apart from other invalid bytes, plus NUL and controls.</summary>
    public static Anomaly CheckUtf8(ReadOnlySpan<byte> bytes)
    {
        var found = Anomaly.None;
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (b < 0x80)
            {
                if (b == 0) found |= Anomaly.NulByte;
                else if (b < 0x20 || b == 0x7F) found |= Anomaly.ControlCharacter;
                continue;
            }
            int need; int min;
            if (b is 0xC0 or 0xC1) { found |= Anomaly.OverlongUtf8; need = 1; min = 0; }
            else if (b is >= 0xC2 and <= 0xDF) { need = 1; min = 0x80; }
            else if (b is >= 0xE0 and <= 0xEF) { need = 2; min = 0x800; }
            else if (b is >= 0xF0 and <= 0xF4) { need = 3; min = 0x10000; }
            else { found |= Anomaly.InvalidUtf8; continue; }
            if (i + need >= bytes.Length) { found |= Anomaly.InvalidUtf8; break; }
            var code = b & (0x3F >> need);
            for (var k = 1; k <= need; k++)
            {
                var c = bytes[i + k];
                if ((c & 0xC0) != 0x80) { found |= Anomaly.InvalidUtf8; need = k - 1; break; }
                code = code << 6 | (c & 0x3F);
            }
            if (min > 0 && code < min) found |= Anomaly.OverlongUtf8;
            else if (code is >= 0xD800 and <= 0xDFFF or > 0x10FFFF) found |= Anomaly.InvalidUtf8;
            i += need;
        }
        return found;
    }

    /// <summary>Backslashes to slashes, ';' parameters removed per segment, duplicate slashes collapsed, then RFC 3986 remove_dot_segments.</summary>
    public static string CleanPath(string decodedPath, ref Anomaly anomalies)
    {
        if (decodedPath.Length == 0) return "/";
        var sb = new StringBuilder(decodedPath.Length + 1);
        if (decodedPath[0] is not ('/' or '\\')) sb.Append('/');
        var inParameter = false;
        foreach (var ch in decodedPath)
        {
            var c = ch;
            if (c == '\\') { anomalies |= Anomaly.Backslash; c = '/'; }
            if (c == ';') { anomalies |= Anomaly.PathParameters; inParameter = true; continue; }
            if (c == '/')
            {
                inParameter = false;
                if (sb.Length > 0 && sb[^1] == '/') { anomalies |= Anomaly.DuplicateSlashes; continue; }
            }
            if (!inParameter) sb.Append(c);
        }
        return RemoveDotSegments(sb.ToString(), ref anomalies);
    }

    /// <summary>RFC 3986 section 5.2.4 on an absolute path with single slashes; ".." past the root is flagged.</summary>
    public static string RemoveDotSegments(string path, ref Anomaly anomalies)
    {
        if (!path.Contains('.')) return path;
        var segments = path.Split('/');
        var output = new List<string>(segments.Length);
        var trailingSlash = false;
        for (var i = 1; i < segments.Length; i++)
        {
            var s = segments[i];
            var last = i == segments.Length - 1;
            if (s == ".")
            {
                anomalies |= Anomaly.DotSegments;
                trailingSlash = last;
                continue;
            }
            if (s == "..")
            {
                anomalies |= Anomaly.DotSegments;
                if (output.Count == 0) anomalies |= Anomaly.AboveRoot;
                else output.RemoveAt(output.Count - 1);
                trailingSlash = last;
                continue;
            }
            output.Add(s);
            trailingSlash = false;
        }
        var result = "/" + string.Join('/', output);
        if (trailingSlash && !result.EndsWith('/')) result += "/";
        return result;
    }

    /// <summary>
    /// Cookie header: 'name=value' pairs, both sides trimmed and decoded like the URI. Split on ',' as well as ';'
    /// because ASP.NET, which Exchange runs on, does: "a=1, X-BEResource=..." is two cookies to the backend.
    /// </summary>
    public static void ParseCookies(string header, List<Cookie> into, ref Anomaly anomalies)
    {
        foreach (var range in header.AsSpan().SplitAny(";,"))
        {
            var pair = header.AsSpan()[range].Trim();
            if (pair.IsEmpty) continue;
            var eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq].Trim();
            var value = eq < 0 ? ReadOnlySpan<char>.Empty : pair[(eq + 1)..].Trim();
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"') value = value[1..^1];
            var cookieAnomalies = Anomaly.None;
            var decodedName = Decode(name, plusIsSpace: false, ref cookieAnomalies, out _);
            var decodedValue = Decode(value, plusIsSpace: false, ref cookieAnomalies, out _);
            if ((cookieAnomalies & NormalisedRequest.AmbiguousAnomalies) != 0) anomalies |= Anomaly.BadCookie;
            into.Add(new Cookie(decodedName, decodedValue));
        }
    }
}
