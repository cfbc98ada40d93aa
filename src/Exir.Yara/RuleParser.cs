using System.Text;

namespace Exir.Yara;

/// <summary>A rule uses something this engine does not implement: the rule is skipped and the feature named.</summary>
internal sealed class UnsupportedException(string feature) : Exception(feature);

internal sealed class SyntaxException(string message, int line) : Exception(message)
{
    public int Line { get; } = line;
}

/// <summary>What the parser needs from the compiler: identifiers visible to a rule and the global string table.</summary>
internal interface ICompileScope
{
    int NamespaceIndex(string ns);
    /// <summary>Index of an accepted rule in the namespace, -1 if absent, -2 if it was skipped.</summary>
    int FindRule(int ns, string name);
    IEnumerable<(string Name, int Index)> RulesInNamespace(int ns);
    int FindExternal(string name);
    bool Imported(string module);
    /// <summary>True when a rule of the namespace whose name starts with the prefix was skipped.</summary>
    bool SkippedWithPrefix(int ns, string prefix);
    /// <summary>Records a rule wildcard ("a*" in "1 of (a*)"): yara refuses a later rule whose name it would match.</summary>
    void RuleWildcardUsed(int ns, string prefix);
}

/// <summary>Parses one rule (from its token range) into compiled strings and a condition tree.</summary>
internal sealed partial class RuleParser
{
    private readonly List<Token> _t;
    private int _i;
    private readonly int _end;
    private readonly ICompileScope _scope;
    private readonly int _ns;
    private readonly int _firstString;
    private readonly int _ruleIndex;
    private readonly List<CompiledString> _strings = [];
    private readonly Dictionary<string, int> _stringIds = [];
    private readonly List<(string Name, int Slot, VKind? Kind)> _vars = [];
    private int _slotBase;
    public int MaxSlots { get; private set; }

    public RuleParser(List<Token> tokens, int start, int end, ICompileScope scope, int ns, int firstString, int ruleIndex, int slotBase)
    {
        _t = tokens; _i = start; _end = end; _scope = scope; _ns = ns; _firstString = firstString; _ruleIndex = ruleIndex;
        _slotBase = slotBase;
    }

    public List<CompiledString> Strings => _strings;

    /// <summary>Name of the rule being parsed.</summary>
    public string RuleName { get; init; } = "";

    /// <summary>Warnings like yara's (slow strings, quantifiers that cannot be met): line and text.</summary>
    public List<(int Line, string Message)> Warnings { get; } = [];

    /// <summary>Warn about regex escapes yara does not define (\c, \v ...), like yara's strict_escape mode.</summary>
    public bool StrictEscape { get; init; }

    private void Warn(int line, string message) => Warnings.Add((line, message));

    private Action<char>? UnknownEscape(int line, string where)
        => StrictEscape ? e => Warn(line, $"unknown escape sequence '\\{e}' in {where} (read as '{e}')") : null;

    // Line of each string's definition, and the strings the condition refers to (yara refuses unreferenced ones).
    private readonly List<int> _stringLines = [];
    private readonly HashSet<int> _referenced = [];

    private Token Cur => _i < _end ? _t[_i] : new Token(Tok.Eof, "", _t[Math.Max(0, _end - 1)].Line);
    private Token Take() { var t = Cur; if (_i < _end) _i++; return t; }
    private SyntaxException Err(string msg) => new(msg, Cur.Line);
    private Token Expect(Tok k, string what)
    {
        if (Cur.Kind != k) throw Err($"expected {what}, found {Cur}");
        return Take();
    }
    private bool Accept(Tok k) { if (Cur.Kind != k) return false; _i++; return true; }
    private bool AcceptWord(string w) { if (!Cur.Is(w)) return false; _i++; return true; }

    /// <summary>Body between the braces: meta, strings, condition.</summary>
    public (Dictionary<string, string> Meta, Expr Condition) ParseBody()
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Cur.Is("meta") && _t[_i + 1].Kind == Tok.Colon)
        {
            _i += 2;
            while (Cur.Kind == Tok.Ident && _t[_i + 1].Kind == Tok.Assign)
            {
                var key = Take().Text;
                Expect(Tok.Assign, "'=' in meta");
                string val;
                if (Cur.Kind == Tok.Text) val = Encoding.Latin1.GetString(Take().Bytes!);
                else if (Cur.Kind == Tok.Int) val = Take().Int.ToString();
                else if (Cur.Kind == Tok.Minus && _t[_i + 1].Kind == Tok.Int) { _i++; val = (-Take().Int).ToString(); }
                else if (Cur.Is("true") || Cur.Is("false")) val = Take().Text;
                else throw Err($"bad meta value {Cur}");
                meta.TryAdd(key, val);
            }
        }
        if (Cur.Is("strings") && _t[_i + 1].Kind == Tok.Colon)
        {
            _i += 2;
            while (Cur.Kind == Tok.StringId) ParseString();
        }
        if (!(Cur.Is("condition") && _t[_i + 1].Kind == Tok.Colon)) throw Err($"expected 'condition:', found {Cur}");
        _i += 2;
        var cond = ParseExpr();
        if (_i < _end) throw Err($"unexpected {Cur} after condition");
        for (int k = 0; k < _strings.Count; k++)
        {
            // yara: a string the condition never uses is an error, unless its name starts with "$_".
            if (!_referenced.Contains(_strings[k].Index) && !_strings[k].Id.StartsWith("$_", StringComparison.Ordinal))
                throw new SyntaxException($"unreferenced string \"{_strings[k].Id}\"", _stringLines[k]);
        }
        FinishStrings();
        return (meta, cond);
    }

    private void ParseString()
    {
        var idTok = Take();
        var id = idTok.Text;
        if (id.EndsWith('*')) throw Err("'*' not allowed in a string identifier");
        Expect(Tok.Assign, "'=' after string identifier");
        var valTok = Take();
        var s = new CompiledString
        {
            Id = id, Index = _firstString + _strings.Count, Rule = _ruleIndex,
            Kind = valTok.Kind switch
            {
                Tok.Text => StringKind.Text,
                Tok.Regex => StringKind.Regex,
                Tok.Hex => StringKind.Hex,
                _ => throw new SyntaxException($"expected string value for {id}, found {valTok}", valTok.Line),
            },
        };
        bool ascii = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        // The alphabet given to base64 and to base64wide (null: the standard one); yara wants them equal.
        byte[]?[] alphabets = [null, null];
        while (Cur.Kind == Tok.Ident)
        {
            var m = Cur.Text;
            if (_t[_i + 1].Kind == Tok.Colon) break; // next section
            if (!seen.Add(m)) throw Err($"duplicated modifier '{m}' on {id}");
            switch (m)
            {
                case "ascii": ascii = true; break;
                case "wide": s.Wide = true; break;
                case "nocase": s.Nocase = true; break;
                case "fullword": s.Fullword = true; break;
                case "private": s.Private = true; break;
                case "xor":
                    if (s.Kind != StringKind.Text) throw Err($"modifier 'xor' only applies to text strings ({id})");
                    s.XorLo = 0; s.XorHi = 255;
                    if (_t[_i + 1].Kind == Tok.LParen)
                    {
                        _i += 2;
                        var lo = Expect(Tok.Int, "xor key");
                        long hi = lo.Int;
                        if (Accept(Tok.Minus)) hi = Expect(Tok.Int, "xor key").Int;
                        if (Cur.Kind != Tok.RParen) throw Err("expected ')' after xor range");
                        if (lo.Int < 0 || hi > 255 || hi < lo.Int) throw Err($"invalid xor range in {id}");
                        s.XorLo = (int)lo.Int; s.XorHi = (int)hi;
                    }
                    break;
                case "base64": case "base64wide":
                    if (s.Kind != StringKind.Text) throw Err($"modifier '{m}' only applies to text strings ({id})");
                    if (m == "base64") s.Base64 = true; else s.Base64Wide = true;
                    if (_t[_i + 1].Kind == Tok.LParen)
                    {
                        _i += 2;
                        var alphabet = Expect(Tok.Text, "base64 alphabet").Bytes!;
                        if (alphabet.Length != 64) throw Err($"base64 alphabet must be 64 bytes ({id})");
                        if (Cur.Kind != Tok.RParen) throw Err("expected ')' after base64 alphabet");
                        alphabets[m == "base64" ? 0 : 1] = alphabet;
                        s.Base64Alphabet = alphabet;
                    }
                    break;
                default: throw Err($"unknown string modifier '{m}'");
            }
            if (s.Kind == StringKind.Hex && m != "private") throw Err($"modifier '{m}' not allowed on hex string {id}");
            _i++;
        }
        if (s.XorLo >= 0 && s.Nocase) throw new SyntaxException($"invalid modifier combination: xor nocase ({id})", idTok.Line);
        if (s.Base64 && s.Base64Wide && !(alphabets[0] ?? []).AsSpan().SequenceEqual(alphabets[1] ?? []))
            throw new SyntaxException($"different base64 alphabets for base64 and base64wide in {id}", idTok.Line);
        if ((s.Base64 || s.Base64Wide) && (s.Nocase || s.XorLo >= 0 || s.Fullword))
            throw new SyntaxException($"invalid modifier combination: base64 with nocase, xor or fullword ({id})", idTok.Line);
        s.Ascii = ascii || !s.Wide;
        if (s.Kind == StringKind.Hex) s.Ascii = true;
        try
        {
            switch (s.Kind)
            {
                case StringKind.Text:
                    var bytes = valTok.Bytes!;
                    if (bytes.Length == 0) throw new SyntaxException($"empty string {id}", valTok.Line);
                    var variants = new List<byte[]>();
                    var wideFlags = new List<bool>();
                    var widened = new byte[bytes.Length * 2];
                    for (int k = 0; k < bytes.Length; k++) widened[2 * k] = bytes[k];
                    // xor: every key of the range applied to each form (yara xors the UTF-16 zero bytes too).
                    int lo = s.XorLo >= 0 ? s.XorLo : 0, hi = s.XorLo >= 0 ? s.XorHi : 0;
                    for (int key = lo; key <= hi; key++)
                    {
                        if (s.Ascii) { variants.Add(Xor(bytes, key)); wideFlags.Add(false); }
                        if (s.Wide) { variants.Add(Xor(widened, key)); wideFlags.Add(true); }
                    }
                    if (s.Base64 || s.Base64Wide)
                    {
                        // The base64 text of each form at the three possible alignments, stable characters only.
                        var forms = variants.ToList();
                        variants.Clear();
                        wideFlags.Clear();
                        foreach (var form in forms)
                            for (int shift = 0; shift < 3; shift++)
                            {
                                var enc = Base64Stable(form, shift, s.Base64Alphabet);
                                if (enc.Length == 0) continue;
                                if (s.Base64) { variants.Add(enc); wideFlags.Add(false); }
                                if (s.Base64Wide) { variants.Add(Widen(enc)); wideFlags.Add(true); }
                            }
                        if (variants.Count == 0) throw new SyntaxException($"string {id} is too short for base64", valTok.Line);
                    }
                    s.Variants = variants.ToArray();
                    s.WideVariant = wideFlags.ToArray();
                    if (SlowStrings.Quality(s.Variants) < SlowStrings.WarningThreshold) Warn(valTok.Line, $"string \"{id}\" may slow down scanning");
                    break;
                case StringKind.Regex:
                    var flags = Encoding.ASCII.GetString(valTok.Bytes!);
                    s.Nocase |= flags.Contains('i');
                    var node = YaraRegexParser.ParseRegex(valTok.Text, flags.Contains('s'), s.Nocase, UnknownEscape(valTok.Line, id));
                    if (SlowStrings.HasUnboundedAny(node))
                        Warn(valTok.Line, $"{id} contains .*, .+ or .{{x,}} consider using .{{,N}}, .{{1,N}} or {{x,N}} with a reasonable value for N");
                    else if (SlowStrings.Quality(node) < SlowStrings.WarningThreshold) Warn(valTok.Line, $"string \"{id}\" may slow down scanning");
                    s.Regex = new ByteRegex(CheckPatternSize(node, id, "regular expression"));
                    // built lazily on first use
                    break;
                case StringKind.Hex:
                    var hex = YaraRegexParser.ParseHex(valTok.Text);
                    if (SlowStrings.Quality(hex) < SlowStrings.WarningThreshold) Warn(valTok.Line, $"string \"{id}\" may slow down scanning");
                    if (LiteralBytes(hex) is { } literal)
                    {
                        // Plain bytes (no wildcard, jump or alternative): found and verified like a text string, as yara
                        // does, so a long one needs no regex (and is not held to the regex scan limit).
                        s.Variants = [literal];
                        s.WideVariant = [false];
                        break;
                    }
                    s.Regex = new ByteRegex(CheckPatternSize(hex, id, "hex string"));
                    // built lazily on first use
                    break;
            }
        }
        catch (RegexSyntaxException e) { throw new SyntaxException($"{id}: {e.Message}", valTok.Line); }
        catch (ArgumentException e) { throw new UnsupportedException($"regex construct in {id} ({e.Message})"); }
        if (id != "$" && !_stringIds.TryAdd(id, s.Index)) throw new SyntaxException($"duplicated string identifier {id}", idTok.Line);
        _strings.Add(s);
        _stringLines.Add(idTok.Line);
    }

    /// <summary>The bytes of a hex string made only of plain bytes, else null.</summary>
    private static byte[]? LiteralBytes(RNode n)
    {
        var items = n is RConcat c ? c.Items : [n];
        var bytes = new byte[items.Count];
        for (int k = 0; k < items.Count; k++)
        {
            if (items[k] is not RSet { Set.Count: 1 } one) return null;
            bytes[k] = (byte)one.Set.First();
        }
        return bytes;
    }

    /// <summary>Parts (character sets, repetitions, alternatives) a regex or hex string may have.</summary>
    /// <remarks>
    /// The .NET engines build their automata from the whole pattern when a string is first searched; 65,536 parts
    /// take about a second. yara refuses far smaller ones (more than 128 alternatives or optional parts is "too
    /// complex" there), so no rule yara accepts comes near it, but a 500 KB hex string of alternatives would otherwise
    /// cost minutes before the first byte is read.
    /// </remarks>
    internal const int MaxPatternParts = 65_536;

    private RNode CheckPatternSize(RNode n, string id, string what)
    {
        long parts = Parts(n);
        if (parts > MaxPatternParts)
            throw Err($"{what} {id} is too large ({parts:N0} parts; the limit is {MaxPatternParts:N0})");
        // yara limits a regex match to RE_SCAN_LIMIT bytes, and so does exir: a pattern whose shortest match is longer
        // can never match here. yara still finds such hex strings when they have long jumps (it splits them at the
        // jumps); exir does not, so the rule is skipped and named rather than never matching in silence.
        if (MinWidth(n) > ByteRegex.ScanLimit)
            throw new UnsupportedException($"{what} {id} whose shortest match is longer than {ByteRegex.ScanLimit} bytes");
        return n;
    }

    private static long Parts(RNode n) => n switch
    {
        RConcat c => 1 + c.Items.Sum(Parts),
        RAlt a => 1 + a.Branches.Sum(Parts),
        RRepeat r => 1 + Parts(r.Body),
        _ => 1,
    };

    // Saturates at a value far above any limit, so nested repetitions cannot overflow.
    private const long WidthCap = 1L << 40;

    private static long MinWidth(RNode n)
    {
        switch (n)
        {
            case RSet: return 1;
            case RConcat c:
                long sum = 0;
                foreach (var i in c.Items) sum = Math.Min(WidthCap, sum + MinWidth(i));
                return sum;
            case RAlt a: return a.Branches.Min(MinWidth);
            case RRepeat r:
                long w = MinWidth(r.Body);
                return w == 0 || r.Min == 0 ? 0 : r.Min > WidthCap / w ? WidthCap : r.Min * w;
            default: return 0;
        }
    }

    private static readonly byte[] StandardBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"u8.ToArray();

    /// <summary>
    /// Base64 of the bytes when preceded by <paramref name="shift"/> unknown bytes, keeping only the characters
    /// whose six bits all come from the bytes themselves (what yara searches for).
    /// </summary>
    internal static byte[] Base64Stable(byte[] data, int shift, byte[]? alphabet)
    {
        alphabet ??= StandardBase64;
        var buf = new byte[shift + data.Length + 2];
        data.CopyTo(buf, shift);
        int first = (8 * shift + 5) / 6, last = 8 * (shift + data.Length) / 6 - 1;
        if (last < first) return [];
        var r = new byte[last - first + 1];
        for (int k = first; k <= last; k++)
        {
            int bit = 6 * k, v = 0;
            for (int j = 0; j < 6; j++, bit++)
                v = v << 1 | (buf[bit >> 3] >> (7 - (bit & 7)) & 1);
            r[k - first] = alphabet[v];
        }
        return r;
    }

    private static byte[] Widen(byte[] b)
    {
        var w = new byte[b.Length * 2];
        for (int i = 0; i < b.Length; i++) w[2 * i] = b[i];
        return w;
    }

    private static byte[] Xor(byte[] b, int key)
    {
        if (key == 0) return b;
        var r = new byte[b.Length];
        for (int i = 0; i < b.Length; i++) r[i] = (byte)(b[i] ^ key);
        return r;
    }

    // ---- conditions -------------------------------------------------------------------------

    // Deeply nested input must not overflow the stack (that would kill the process, not just the rule).
    private const int MaxDepth = 200;
    private int _depth;

    private Expr ParseExpr()
    {
        if (++_depth > MaxDepth) throw Err("condition nested too deeply");
        try { return ParseOr(); }
        finally { _depth--; }
    }

    private Expr ParseOr()
    {
        var l = ParseAnd();
        if (!Cur.Is("or")) return l;
        var items = new List<Expr> { l };
        while (AcceptWord("or")) items.Add(ParseAnd());
        return new OrExpr(items.ToArray());
    }

    private Expr ParseAnd()
    {
        var l = ParseNot();
        if (!Cur.Is("and")) return l;
        var items = new List<Expr> { l };
        while (AcceptWord("and")) items.Add(ParseNot());
        return new AndExpr(items.ToArray());
    }

    // Arithmetic and comparison operators nest left-deep; cap them per rule so evaluation cannot recurse too deeply.
    private int _chain;
    private Expr Chain(Expr e)
    {
        if (++_chain > 5000) throw Err("expression too long (more than 5000 operators)");
        return e;
    }

    private Expr ParseNot()
    {
        if (AcceptWord("not"))
        {
            if (++_depth > MaxDepth) throw Err("condition nested too deeply");
            try { return new NotExpr(ParseNot()); }
            finally { _depth--; }
        }
        if (AcceptWord("defined"))
        {
            // Binds like 'not': "defined x and y" is "(defined x) and y".
            if (++_depth > MaxDepth) throw Err("condition nested too deeply");
            try { return new DefinedExpr(ParseNot()); }
            finally { _depth--; }
        }
        return ParseEquality();
    }

    private Expr ParseEquality()
    {
        var l = ParseRelational();
        while (true)
        {
            if (Accept(Tok.Eq)) l = Compare(BinOp.Eq, l, ParseRelational());
            else if (Accept(Tok.Ne)) l = Compare(BinOp.Ne, l, ParseRelational());
            else if (Cur.Kind == Tok.Ident && StrOpOf(Cur.Text) is { } op) { _i++; l = Chain(new StrOpExpr(op, l, ParseRelational())); }
            else if (AcceptWord("matches"))
            {
                var rt = Expect(Tok.Regex, "regular expression after 'matches'");
                var flags = Encoding.ASCII.GetString(rt.Bytes!);
                try
                {
                    var node = YaraRegexParser.ParseRegex(rt.Text, flags.Contains('s'), flags.Contains('i'), UnknownEscape(rt.Line, "a regular expression"));
                    var re = new ByteRegex(node);
                    re.Validate();
                    l = new MatchesExpr(l, re);
                }
                catch (RegexSyntaxException e) { throw new SyntaxException(e.Message, rt.Line); }
            }
            else return l;
        }
    }

    private static StrOp? StrOpOf(string w) => w switch
    {
        "contains" => StrOp.Contains, "icontains" => StrOp.IContains,
        "startswith" => StrOp.StartsWith, "istartswith" => StrOp.IStartsWith,
        "endswith" => StrOp.EndsWith, "iendswith" => StrOp.IEndsWith,
        "iequals" => StrOp.IEquals, _ => null,
    };

    private Expr ParseRelational()
    {
        var l = ParseQuantified();
        while (true)
        {
            BinOp op;
            if (Accept(Tok.Lt)) op = BinOp.Lt;
            else if (Accept(Tok.Le)) op = BinOp.Le;
            else if (Accept(Tok.Gt)) op = BinOp.Gt;
            else if (Accept(Tok.Ge)) op = BinOp.Ge;
            else return l;
            l = Compare(op, l, ParseQuantified());
        }
    }

    private Expr Compare(BinOp op, Expr l, Expr r)
    {
        if (StaticKind(l) is { } a && StaticKind(r) is { } b && (a == VKind.Str) != (b == VKind.Str))
            throw Err("wrong type: a text compared with a number");
        return Chain(new BinExpr(op, l, r));
    }

    /// <summary>The kind a node's value always has when it is defined, or null when not known at compile time.</summary>
    private static VKind? StaticKind(Expr e) => e switch
    {
        ConstExpr c => c.V.Kind,
        VarExpr v => v.Kind,
        FileSizeExpr or StrCountExpr or StrIndexExpr or ReadIntExpr or EntryPointExpr => VKind.Int,
        _ => null,
    };

    /// <summary>An arithmetic expression, or one followed by "of" / "% of": the quantity of a quantifier ("1050%100% of them").</summary>
    private Expr ParseQuantified()
    {
        var e = ParseBitOr();
        if (Cur.Is("of")) { _i++; return ParseOfTail(new Quantifier(QuantKind.Count, Quantity(e))); }
        if (Cur.Kind == Tok.Percent && _t[_i + 1].Is("of")) { _i += 2; return ParseOfTail(new Quantifier(QuantKind.Percent, Percentage(e))); }
        return e;
    }

    private Expr Quantity(Expr n)
    {
        if (n is ConstExpr c && (c.V.Kind != VKind.Int || c.V.I < 0)) throw Err($"invalid value in quantifier: {c.V}");
        return n;
    }

    private Expr ParseBitOr()
    {
        var l = ParseBitXor();
        while (Accept(Tok.Pipe)) l = Arith(BinOp.BitOr, l, ParseBitXor());
        return l;
    }

    private Expr ParseBitXor()
    {
        var l = ParseBitAnd();
        while (Accept(Tok.Caret)) l = Arith(BinOp.BitXor, l, ParseBitAnd());
        return l;
    }

    private Expr ParseBitAnd()
    {
        var l = ParseShift();
        while (Accept(Tok.Amp)) l = Arith(BinOp.BitAnd, l, ParseShift());
        return l;
    }

    private Expr ParseShift()
    {
        var l = ParseAdd();
        while (true)
        {
            if (Accept(Tok.Shl)) l = Arith(BinOp.Shl, l, ParseAdd());
            else if (Accept(Tok.Shr)) l = Arith(BinOp.Shr, l, ParseAdd());
            else return l;
        }
    }

    private Expr ParseAdd()
    {
        var l = ParseMul();
        while (true)
        {
            if (Accept(Tok.Plus)) l = Arith(BinOp.Add, l, ParseMul());
            else if (Accept(Tok.Minus)) l = Arith(BinOp.Sub, l, ParseMul());
            else return l;
        }
    }

    private Expr ParseMul()
    {
        var l = ParseUnary();
        while (true)
        {
            if (Accept(Tok.Star)) l = Arith(BinOp.Mul, l, ParseUnary());
            else if (Accept(Tok.Backslash)) l = Arith(BinOp.Div, l, ParseUnary());
            // "N% of them" is a quantifier, not a modulo.
            else if (Cur.Kind == Tok.Percent && !_t[_i + 1].Is("of")) { _i++; l = Arith(BinOp.Mod, l, ParseUnary()); }
            else return l;
        }
    }

    private Expr ParseUnary()
    {
        if (Cur.Kind is Tok.Minus or Tok.Tilde)
        {
            bool bitNot = Take().Kind == Tok.Tilde;
            if (++_depth > MaxDepth) throw Err("condition nested too deeply");
            try { return Negate(ParseUnary(), bitNot); }
            finally { _depth--; }
        }
        return ParsePrimary();
    }

    // yara folds constant integer expressions when it compiles a rule and refuses those that overflow or divide by
    // zero; folding here gives the same errors (and makes "$a at 0x3C + 4" a fixed offset, as in yara).
    private Expr Arith(BinOp op, Expr l, Expr r)
    {
        if (StaticKind(l) == VKind.Str || StaticKind(r) == VKind.Str) throw Err($"wrong type: '{Symbol(op)}' on a text");
        if (l is not ConstExpr { V.Kind: VKind.Int } a || r is not ConstExpr { V.Kind: VKind.Int } b)
            return Chain(new BinExpr(op, l, r));
        long x = a.V.I, y = b.V.I;
        if (y == 0 && op is BinOp.Div or BinOp.Mod) throw Err("division by zero");
        if (y < 0 && op is BinOp.Shl or BinOp.Shr) throw Err($"negative shift in \"{x} {Symbol(op)} {y}\"");
        try
        {
            long v = op switch
            {
                BinOp.Add => checked(x + y),
                BinOp.Sub => checked(x - y),
                // yara refuses a product whose magnitude exceeds 2^63-1, so -2^62 * 2 too.
                BinOp.Mul => Int128.Abs((Int128)x * y) > long.MaxValue ? throw new OverflowException() : x * y,
                BinOp.Div => checked(x / y),
                BinOp.Mod => y == -1 ? 0 : x % y,
                BinOp.Shl => y >= 64 ? 0 : x << (int)y,
                BinOp.Shr => y >= 64 ? 0 : x >> (int)y,
                BinOp.BitAnd => x & y,
                BinOp.BitOr => x | y,
                _ => x ^ y,
            };
            return Chain(new ConstExpr(Value.Int(v)));
        }
        catch (OverflowException) { throw Err($"integer overflow in \"{x} {Symbol(op)} {y}\""); }
    }

    private Expr Negate(Expr e, bool bitNot)
    {
        if (e is not ConstExpr { V.Kind: VKind.Int } c) return new NegExpr(e, bitNot);
        if (!bitNot && c.V.I == long.MinValue) throw Err($"integer overflow in \"-({c.V.I})\"");
        return new ConstExpr(Value.Int(bitNot ? ~c.V.I : -c.V.I));
    }

    private static string Symbol(BinOp op) => op switch
    {
        BinOp.Add => "+", BinOp.Sub => "-", BinOp.Mul => "*", BinOp.Div => "\\", BinOp.Mod => "%",
        BinOp.Shl => "<<", BinOp.Shr => ">>", BinOp.BitAnd => "&", BinOp.BitOr => "|", _ => "^",
    };

    /// <summary>yara's warnings for quantifiers: "0 of" (use "none") and more than the set holds.</summary>
    private void WarnUnmeetable(Quantifier q, int total, int line)
    {
        if (q.N is not ConstExpr { V.Kind: VKind.Int } c) return;
        if (q.Kind == QuantKind.Count && c.V.I == 0) Warn(line, "consider using \"none\" keyword, it is less ambiguous");
        else if (q.Kind == QuantKind.Count && c.V.I > total) Warn(line, $"expression always false: requesting {c.V.I} of {total}");
    }

    private Expr RequireInt(Expr e, string what)
    {
        if (StaticKind(e) is { } k && k != VKind.Int) throw Err($"wrong type for {what}");
        return e;
    }

    private Expr Percentage(Expr n)
    {
        if (n is ConstExpr { V.Kind: VKind.Int } c && c.V.I is < 1 or > 100) throw Err("percentage must be between 1 and 100 (inclusive)");
        return n;
    }

    private Expr ParseOfTail(Quantifier q)
    {
        // "N of (rule1, rule2)" takes rules; "N of them" / "N of ($a*)" strings.
        int line = Cur.Line;
        if (Cur.Kind == Tok.LParen && _t[_i + 1].Kind == Tok.Ident)
        {
            var rules = ParseRuleSet();
            WarnUnmeetable(q, rules.Length, line);
            return new OfRulesExpr(q, rules);
        }
        var set = ParseStringSet();
        WarnUnmeetable(q, set.Length, line);
        if (AcceptWord("at"))
        {
            var at = RequireInt(ParseBitOr(), "offset after 'at'");
            if (q.Kind == QuantKind.All ? set.Length > 1 : q.N is ConstExpr { V.I: > 1 })
                Warn(line, "several strings at one offset: the condition can only be true if they are equal");
            return new OfExpr(q, set, at, null);
        }
        if (Cur.Is("in") && _t[_i + 1].Kind == Tok.LParen)
        {
            _i++;
            var (lo, hi) = ParseRange();
            return new OfExpr(q, set, lo, hi);
        }
        return new OfExpr(q, set);
    }

    private int[] ParseRuleSet()
    {
        Expect(Tok.LParen, "'('");
        var list = new List<int>();
        do
        {
            var name = Expect(Tok.Ident, "rule name").Text;
            bool wildcard = Accept(Tok.Star);
            if (wildcard)
            {
                int before = list.Count;
                foreach (var (n, idx) in _scope.RulesInNamespace(_ns)) if (n.StartsWith(name, StringComparison.Ordinal)) list.Add(idx);
                // The rule being declared counts as a match (yara declares its name first), though it is not in the set.
                if (list.Count == before && !RuleName.StartsWith(name, StringComparison.Ordinal))
                {
                    if (_scope.SkippedWithPrefix(_ns, name)) throw new UnsupportedException($"depends on skipped rules {name}*");
                    throw Err($"undefined identifier \"{name}*\": no rule declared before matches it");
                }
                _scope.RuleWildcardUsed(_ns, name);
            }
            else
            {
                int r = _scope.FindRule(_ns, name);
                if (r == -2) throw new UnsupportedException($"depends on skipped rule {name}");
                if (r < 0) throw Err($"undefined rule {name}");
                list.Add(r);
            }
        } while (Accept(Tok.Comma));
        Expect(Tok.RParen, "')'");
        return list.ToArray();
    }

    private int[] ParseStringSet()
    {
        if (AcceptWord("them"))
        {
            if (_strings.Count == 0) throw Err("'them' used in a rule without strings");
            foreach (var s in _strings) { UsedOtherwise(s.Index); _referenced.Add(s.Index); }
            return _strings.Select(s => s.Index).ToArray();
        }
        Expect(Tok.LParen, "'(' or 'them'");
        var list = new List<int>();
        do
        {
            var t = Expect(Tok.StringId, "string identifier");
            list.AddRange(ResolveSet(t));
        } while (Accept(Tok.Comma));
        Expect(Tok.RParen, "')'");
        foreach (var si in list) { UsedOtherwise(si); _referenced.Add(si); }
        return list.Distinct().ToArray();
    }

    private IEnumerable<int> ResolveSet(Token t)
    {
        var id = t.Text;
        if (id.EndsWith('*'))
        {
            var prefix = id[..^1];
            var hits = _strings.Where(s => s.Id.StartsWith(prefix, StringComparison.Ordinal)).Select(s => s.Index).ToList();
            if (hits.Count == 0) throw new SyntaxException($"undefined string identifier {id}", t.Line);
            return hits;
        }
        return [ResolveString(t)];
    }

    private int ResolveString(Token t)
    {
        var name = "$" + t.Text[1..];
        if (name == "$")
        {
            if (!InForOf) throw new SyntaxException($"anonymous string reference '{t.Text}' outside a for..of loop", t.Line);
            return -1;
        }
        if (!_stringIds.TryGetValue(name, out var idx)) throw new SyntaxException($"undefined string identifier {name}", t.Line);
        _referenced.Add(idx);
        return idx;
    }

    // Per string index: constant 'at' offset seen so far, or long.MinValue once used any other way.
    private readonly Dictionary<int, long> _atUse = [];

    private void UsedOtherwise(int si) { if (si >= 0) _atUse[si] = long.MinValue; }
    private void UsedAt(int si, Expr at)
    {
        if (si < 0) return;
        if (at is ConstExpr { V.Kind: VKind.Int } c && c.V.I >= 0)
        {
            if (!_atUse.TryGetValue(si, out var prev)) _atUse[si] = c.V.I;
            else if (prev != c.V.I) _atUse[si] = long.MinValue;
        }
        else _atUse[si] = long.MinValue;
    }

    /// <summary>Applies yara's fixed-offset optimisation to strings only used as "$a at N".</summary>
    public void FinishStrings()
    {
        foreach (var s in _strings)
            if (_atUse.TryGetValue(s.Index, out var off) && off != long.MinValue) s.FixedOffset = off;
    }

    private int _forOfDepth;
    private bool InForOf => _forOfDepth > 0;

    private (Expr Lo, Expr Hi) ParseRange()
    {
        Expect(Tok.LParen, "'(' for range");
        var lo = RequireInt(ParseBitOr(), "range bound");
        Expect(Tok.DotDot, "'..'");
        var hi = RequireInt(ParseBitOr(), "range bound");
        Expect(Tok.RParen, "')'");
        CheckRange(lo, hi, loop: false);
        return (lo, hi);
    }

    // yara refuses a loop over a constant empty range, and a negative start of a string's offset range.
    private void CheckRange(Expr lo, Expr hi, bool loop)
    {
        if (lo is not ConstExpr { V.Kind: VKind.Int } l) return;
        if (!loop && l.V.I < 0) throw Err($"invalid value in range: {l.V.I}");
        if (loop && hi is ConstExpr { V.Kind: VKind.Int } h && h.V.I < l.V.I) throw Err($"invalid range: {l.V.I}..{h.V.I} is empty");
    }

    private Expr ParsePrimary()
    {
        var t = Cur;
        switch (t.Kind)
        {
            case Tok.LParen:
            {
                _i++;
                var e = ParseExpr();
                Expect(Tok.RParen, "')'");
                return e;
            }
            case Tok.Int: _i++; return new ConstExpr(Value.Int(t.Int));
            case Tok.Float: _i++; return new ConstExpr(Value.Float(t.Float));
            case Tok.Text: _i++; return new ConstExpr(Value.Str(Encoding.Latin1.GetString(t.Bytes!)));
            case Tok.StringId:
            {
                _i++;
                if (t.Text.EndsWith('*')) throw new SyntaxException($"wildcard {t.Text} outside a string set", t.Line);
                int si = ResolveString(t);
                if (AcceptWord("at")) { var at = ParseBitOr(); UsedAt(si, at); return new StrAtExpr(si, at); }
                UsedOtherwise(si);
                if (Cur.Is("in")) { _i++; var (lo, hi) = ParseRange(); return new StrInExpr(si, lo, hi); }
                return new StrFoundExpr(si);
            }
            case Tok.CountId:
            {
                _i++;
                int si = ResolveString(t);
                UsedOtherwise(si);
                if (Cur.Is("in")) { _i++; var (lo, hi) = ParseRange(); return new StrCountExpr(si, lo, hi); }
                return new StrCountExpr(si);
            }
            case Tok.OffsetId or Tok.LengthId:
            {
                _i++;
                int si = ResolveString(t);
                UsedOtherwise(si);
                Expr? index = null;
                if (Accept(Tok.LBracket)) { index = ParseExpr(); Expect(Tok.RBracket, "']'"); }
                return new StrIndexExpr(si, index, length: t.Kind == Tok.LengthId);
            }
            case Tok.Ident: return ParseIdent();
            case Tok.Regex: throw Err("regular expression outside 'matches'");
            case Tok.Error: throw Err(t.Text);
        }
        throw Err($"unexpected {t} in condition");
    }

    private Expr ParseIdent()
    {
        var t = Take();
        switch (t.Text)
        {
            case "true": return new ConstExpr(Value.True);
            case "false": return new ConstExpr(Value.False);
            case "filesize": return new FileSizeExpr();
            case "entrypoint": return new EntryPointExpr();
            case "all": Expect(Tok.Ident, "'of'"); return ParseOfTail(new Quantifier(QuantKind.All, null));
            case "any": Expect(Tok.Ident, "'of'"); return ParseOfTail(new Quantifier(QuantKind.Any, null));
            case "none": Expect(Tok.Ident, "'of'"); return ParseOfTail(new Quantifier(QuantKind.None, null));
            case "for": return ParseFor();
            case "them": throw new SyntaxException("'them' outside 'of'", t.Line);
        }
        if (IntReader(t.Text) is { } reader)
        {
            Expect(Tok.LParen, "'('");
            var off = ParseExpr();
            Expect(Tok.RParen, "')'");
            return new ReadIntExpr(reader.Size, reader.Signed, reader.Big, off);
        }
        if (ModuleVar(t.Text) is { } moduleVar) return ParseModuleVar(moduleVar);
        for (int k = _vars.Count - 1; k >= 0; k--)
            if (_vars[k].Name == t.Text) return new VarExpr(_vars[k].Slot) { Kind = _vars[k].Kind };
        if (IsKnownModule(t.Text))
        {
            if (!_scope.Imported(t.Text)) throw new SyntaxException($"undefined identifier \"{t.Text}\" (module not imported)", t.Line);
            return ParseModule(t.Text);
        }
        int ext = _scope.FindExternal(t.Text);
        if (ext >= 0) return new ExternalExpr(ext);
        int r = _scope.FindRule(_ns, t.Text);
        if (r == -2) throw new UnsupportedException($"depends on skipped rule {t.Text}");
        if (r >= 0) return new RuleRefExpr(r);
        throw new SyntaxException($"undefined identifier \"{t.Text}\"", t.Line);
    }

    private static (int Size, bool Signed, bool Big)? IntReader(string name) => name switch
    {
        "uint8" => (1, false, false), "uint16" => (2, false, false), "uint32" => (4, false, false),
        "int8" => (1, true, false), "int16" => (2, true, false), "int32" => (4, true, false),
        "uint8be" => (1, false, true), "uint16be" => (2, false, true), "uint32be" => (4, false, true),
        "int8be" => (1, true, true), "int16be" => (2, true, true), "int32be" => (4, true, true),
        _ => null,
    };

    /// <summary>Modules of Modules.cs (time included).</summary>
    internal static bool IsKnownModule(string name) => Modules.IsModule(name);

    private Expr ParseFor()
    {
        Quantifier q;
        if (AcceptWord("all")) q = new Quantifier(QuantKind.All, null);
        else if (AcceptWord("any")) q = new Quantifier(QuantKind.Any, null);
        else if (AcceptWord("none")) q = new Quantifier(QuantKind.None, null);
        else
        {
            var n = ParseBitOr();
            if (Cur.Kind == Tok.Percent) { _i++; q = new Quantifier(QuantKind.Percent, Percentage(n)); }
            else q = new Quantifier(QuantKind.Count, Quantity(n));
        }
        if (AcceptWord("of"))
        {
            int line = Cur.Line;
            var set = ParseStringSet();
            WarnUnmeetable(q, set.Length, line);
            Expect(Tok.Colon, "':'");
            Expect(Tok.LParen, "'('");
            _forOfDepth++;
            var body = ParseExpr();
            _forOfDepth--;
            Expect(Tok.RParen, "')'");
            return new ForOfExpr(q, set, body);
        }
        var varTok = Expect(Tok.Ident, "loop variable");
        if (TryParseModuleFor(q, varTok) is { } moduleLoop) return moduleLoop;
        if (Cur.Kind == Tok.Comma) throw new UnsupportedException("for loop with several variables");
        if (!AcceptWord("in")) throw Err("expected 'in'");
        Expr? lo = null, hi = null;
        Expr[]? items = null;
        Expect(Tok.LParen, "'('");
        var first = ParseBitOr();
        VKind? kind;
        if (Accept(Tok.DotDot))
        {
            lo = RequireInt(first, "range bound");
            hi = RequireInt(ParseBitOr(), "range bound");
            CheckRange(lo, hi, loop: true);
            kind = VKind.Int;
        }
        else
        {
            var list = new List<Expr> { first };
            while (Accept(Tok.Comma)) list.Add(ParseBitOr());
            items = list.ToArray();
            // yara: the items of an enumeration share one type.
            var kinds = items.Select(StaticKind).Distinct().ToList();
            if (kinds.Count > 1 && kinds.Contains(VKind.Str)) throw Err("wrong type for enumeration item: texts and numbers mixed");
            kind = kinds.Count == 1 ? kinds[0] : null;
        }
        Expect(Tok.RParen, "')'");
        Expect(Tok.Colon, "':'");
        Expect(Tok.LParen, "'('");
        int slot = _slotBase + _vars.Count;
        _vars.Add((varTok.Text, slot, kind));
        MaxSlots = Math.Max(MaxSlots, _vars.Count);
        var b = ParseExpr();
        _vars.RemoveAt(_vars.Count - 1);
        Expect(Tok.RParen, "')'");
        return new ForInExpr(q, slot, lo, hi, items, b);
    }
}
