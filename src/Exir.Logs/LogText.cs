using System.Text;

namespace Exir.Logs;

/// <summary>Text-level helpers shared by the sniffer and the reader: encoding detection and header parsing.</summary>
public static class LogText
{
    // Invalid bytes decode to U+FFFD instead of throwing: evidence is never rejected for its encoding.
    private static readonly Encoding Utf8 = new UTF8Encoding(false, false);
    private static readonly Encoding Utf16Le = new UnicodeEncoding(false, false, false);
    private static readonly Encoding Utf16Be = new UnicodeEncoding(true, false, false);

    /// <summary>
    /// Picks the encoding from a byte-order mark, else from the NUL pattern of UTF-16 text without one
    /// (IIS and Exchange write UTF-8 or ANSI, but re-saved or exported copies are often UTF-16).
    /// </summary>
    public static Encoding DetectEncoding(ReadOnlySpan<byte> head, out int preambleLength)
    {
        preambleLength = 0;
        if (head.Length >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF) { preambleLength = 3; return Utf8; }
        if (head.Length >= 2 && head[0] == 0xFF && head[1] == 0xFE) { preambleLength = 2; return Utf16Le; }
        if (head.Length >= 2 && head[0] == 0xFE && head[1] == 0xFF) { preambleLength = 2; return Utf16Be; }
        int n = Math.Min(head.Length, 512) & ~1;
        if (n >= 8)
        {
            int evenZero = 0, oddZero = 0;
            for (int i = 0; i < n; i += 2)
            {
                if (head[i] == 0) evenZero++;
                if (head[i + 1] == 0) oddZero++;
            }
            int pairs = n / 2;
            if (oddZero > pairs * 0.6 && evenZero < pairs * 0.1) return Utf16Le;
            if (evenZero > pairs * 0.6 && oddZero < pairs * 0.1) return Utf16Be;
        }
        return Utf8;
    }

    /// <summary>
    /// True when the first bytes are not text in any encoding logs are written in (random, encrypted or wiped
    /// content): NULs outside UTF-16, control bytes, or invalid UTF-8 in more than a small share of them.
    /// </summary>
    public static bool LooksBinary(ReadOnlySpan<byte> head)
    {
        if (head.IsEmpty) return false;
        var text = DecodeHead(head[..Math.Min(head.Length, 8192)]);
        int bad = 0;
        foreach (var c in text)
            if (c == '\uFFFD' || (c < ' ' && c is not '\r' and not '\n' and not '\t')) bad++;
        return bad > text.Length / 20;
    }

    /// <summary>Decodes the first bytes of a file to text (for sniffing only; the reader streams).</summary>
    public static string DecodeHead(ReadOnlySpan<byte> head)
    {
        var enc = DetectEncoding(head, out int pre);
        var body = head[pre..];
        if (enc is UnicodeEncoding) body = body[..(body.Length & ~1)];
        return enc.GetString(body);
    }

    /// <summary>Value of a "#Name: value" directive line, or null when the line is not that directive.</summary>
    public static bool TryDirective(ReadOnlySpan<char> line, string name, out ReadOnlySpan<char> value)
    {
        value = default;
        if (line.Length < name.Length + 2 || line[0] != '#') return false;
        if (!line[1..].StartsWith(name, StringComparison.OrdinalIgnoreCase)) return false;
        var rest = line[(1 + name.Length)..];
        if (rest.Length == 0 || rest[0] != ':') return false;
        value = rest[1..].Trim();
        return true;
    }
}
