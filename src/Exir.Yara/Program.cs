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
    public ByteRegex? Regex;
    /// <summary>Regex/hex strings without a usable atom run on every scan of their rule.</summary>
    public bool AlwaysCandidate;
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

/// <summary>What an atom stands for: a text variant to verify at a fixed distance, or a regex/hex candidate.</summary>
internal readonly record struct AtomEntry(int String, int Variant, int AtomOffset, int AtomLength);

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
