namespace Exir.Yara;

internal enum StringKind { Text, Regex, Hex }

internal sealed class CompiledString
{
    public required string Id;
    public required int Index;
    public required int Rule;
    public required StringKind Kind;
    public bool Ascii, Wide, Nocase, Fullword, Private;
    /// <summary>Text strings: the byte forms to find (ascii and/or wide).</summary>
    public byte[][] Variants = [];
    /// <summary>Per variant: UTF-16 form (for fullword checks).</summary>
    public bool[] WideVariant = [];
    /// <summary>xor key range, or -1 when the string has no xor modifier.</summary>
    public int XorLo = -1, XorHi = -1;
    /// <summary>base64 / base64wide modifiers and their alphabet (null: the standard one).</summary>
    public bool Base64, Base64Wide;
    public byte[]? Base64Alphabet;
    public ByteRegex? Regex;
    /// <summary>Regex/hex strings without a usable atom run on every scan of their rule.</summary>
    public bool AlwaysCandidate;
    /// <summary>First string with the same regex and modifiers; its matches are shared.</summary>
    public int Canonical = -1;
    /// <summary>
    /// Like yara: a string used only as "$a at N" (constant N) is searched only at N, so -s output lists no
    /// other matches. -1 when the string is used any other way.
    /// </summary>
    public long FixedOffset = -1;
    /// <summary>On a canonical string: every rule that has this string (they must be evaluated when it hits).</summary>
    public int[] HitRules = [];
}

internal sealed class CompiledRule
{
    public required YaraRuleInfo Info;
    public required int Index;
    public required int Namespace;
    public required int[] Strings;
    public required Expr Condition;
    /// <summary>False when the condition can only be true if one of the rule's strings hit.</summary>
    public bool AlwaysEvaluate;
}

/// <summary>
/// What an atom stands for: a text variant to verify at a fixed distance (Variant >= 0), regex/hex match starts
/// between MinPrefix and AtomOffset (max) bytes before the atom (-2 ascii, -3 wide), or "this regex may match
/// somewhere" (-1).
/// </summary>
internal readonly record struct AtomEntry(int String, int Variant, int AtomOffset, int AtomLength, int MinPrefix = 0);

/// <summary>The immutable compiled form shared by all scans.</summary>
internal sealed class RuleProgram
{
    public required CompiledRule[] Rules;
    public required CompiledString[] Strings;
    public required int[][] GlobalRulesByNamespace;
    public required string[] ExternalNames;
    public required Value[] ExternalDefaults;
    public required int VarSlots;
    public required AhoCorasick Matcher;
    /// <summary>Per AC atom id, the entries it triggers.</summary>
    public required AtomEntry[][] AtomEntries;
    public required int[] AlwaysCandidateStrings;
}
