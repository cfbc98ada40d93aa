namespace Exir.Yara;

/// <summary>yara's string module: to_int (C strtoll rules) and length.</summary>
internal static class StringModule
{
    public static readonly MStructT Declaration = new MStructT()
        .Fn("to_int", "s", (_, _, a) => ToInt(a[0].S, 0))
        .Fn("to_int", "si", (_, _, a) => ToInt(a[0].S, a[1].I))
        .Fn("length", "s", (_, _, a) => Value.Int(a[0].S.Length));

    /// <summary>
    /// strtoll as yara uses it: leading blanks, a sign, base 0 guesses 0x (hex) or 0 (octal), base 16 allows 0x;
    /// the whole string must be a number, in range; base must be 0 or 2..36. Anything else is undefined.
    /// </summary>
    internal static Value ToInt(string s, long numberBase)
    {
        if (numberBase != 0 && numberBase is < 2 or > 36) return Value.Undef;
        int i = 0;
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r') i++;
        bool negative = false;
        if (i < s.Length && s[i] is '+' or '-') negative = s[i++] == '-';
        int b = (int)numberBase;
        bool hexPrefix = i + 2 < s.Length && s[i] == '0' && s[i + 1] is 'x' or 'X' && Digit(s[i + 2]) < 16;
        if ((b == 0 || b == 16) && hexPrefix) { b = 16; i += 2; }
        else if (b == 0) b = i < s.Length && s[i] == '0' ? 8 : 10;
        int start = i;
        UInt128 acc = 0;
        UInt128 limit = negative ? (UInt128)long.MaxValue + 1 : long.MaxValue;
        bool overflow = false;
        for (; i < s.Length && Digit(s[i]) < b; i++)
        {
            acc = acc * (uint)b + (uint)Digit(s[i]);
            if (acc > limit) { overflow = true; acc = limit; }
        }
        if (i == start || i != s.Length || overflow) return Value.Undef;
        return Value.Int(negative ? unchecked(-(long)(ulong)acc) : (long)(ulong)acc);
    }

    private static int Digit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'z' => c - 'a' + 10,
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => 99,
    };
}
