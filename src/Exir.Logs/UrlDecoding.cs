namespace Exir.Logs;

/// <summary>
/// Percent-decoding as an attacker's request is seen by the server after several decoders: applied
/// repeatedly until the text stops changing (ProxyNotShell used %40, encoded letters and double encoding).
/// </summary>
public static class UrlDecoding
{
    /// <summary>
    /// True when an escape could hide a letter, a digit or another escape (%3x..%7x, %25, %uXXXX). Lines that
    /// only encode ':' '/' '&amp;' '=' (%3A %2F %26 %3D, common in IIS queries) need no decoding to be matched.
    /// </summary>
    public static bool MayHideText(ReadOnlySpan<char> text)
    {
        int i = text.IndexOf('%');
        while (i >= 0 && i + 2 < text.Length)
        {
            if (EscapeMayHideText(text[i + 1], text[i + 2])) return true;
            int next = text[(i + 1)..].IndexOf('%');
            i = next < 0 ? -1 : i + 1 + next;
        }
        return false;
    }

    /// <summary>Whether '%' followed by these two characters could hide text (-1 for one not known yet).</summary>
    public static bool EscapeMayHideText(int next, int afterNext) =>
        next is '4' or '5' or '6' or '7' or 'u' or 'U' || (next == '3' && afterNext is >= '0' and <= '9') || (next == '2' && afterNext == '5');

    /// <summary>Decodes %XX and %uXXXX repeatedly (up to <paramref name="maxRounds"/>); '+' is left alone.</summary>
    public static string DecodeRepeatedly(ReadOnlySpan<char> text, int maxRounds = 4)
    {
        if (text.IndexOf('%') < 0) return text.ToString();
        var buffer = new char[text.Length];
        int n = DecodeRepeatedly(text, buffer, maxRounds);
        return new string(buffer, 0, n);
    }

    /// <summary>Span form for the hot path: writes into <paramref name="destination"/> (at least as long as the input).</summary>
    public static int DecodeRepeatedly(ReadOnlySpan<char> text, Span<char> destination, int maxRounds = 4)
    {
        int n = DecodeOnce(text, destination);
        int previous = text.Length;
        for (int round = 1; round < maxRounds && n != previous && destination[..n].IndexOf('%') >= 0; round++)
        {
            previous = n;
            n = DecodeOnce(destination[..n], destination);
        }
        return n;
    }

    /// <summary>One decoding pass; in place is allowed (output never runs ahead of input).</summary>
    public static int DecodeOnce(ReadOnlySpan<char> text, Span<char> destination)
    {
        int o = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '%')
            {
                if (i + 2 < text.Length && Hex(text[i + 1]) is int h1 and >= 0 && Hex(text[i + 2]) is int h2 and >= 0)
                {
                    destination[o++] = (char)(h1 * 16 + h2);
                    i += 2;
                    continue;
                }
                if (i + 5 < text.Length && (text[i + 1] == 'u' || text[i + 1] == 'U') &&
                    Hex(text[i + 2]) is int u1 and >= 0 && Hex(text[i + 3]) is int u2 and >= 0 &&
                    Hex(text[i + 4]) is int u3 and >= 0 && Hex(text[i + 5]) is int u4 and >= 0)
                {
                    destination[o++] = (char)((u1 << 12) | (u2 << 8) | (u3 << 4) | u4);
                    i += 5;
                    continue;
                }
            }
            destination[o++] = c;
        }
        return o;
    }

    private static int Hex(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
