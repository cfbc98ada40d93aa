using System.Text;

namespace Exir.Yara;

/// <summary>
/// Module references in conditions: member access, indexing, calls (with regular expression arguments) and
/// for loops over module arrays and dictionaries (<c>for any s in pe.sections : (s.name == ".text")</c>,
/// <c>for any k, v in pe.version_info : (...)</c>). A loop runs an integer slot over the items; its variables
/// are aliases for the module path at that slot, so the loop itself is an ordinary <see cref="ForInExpr"/>.
/// </summary>
internal sealed partial class RuleParser
{
    private readonly List<(string Name, ModuleRef Ref)> _moduleVars = [];

    private ModuleRef? ModuleVar(string name)
    {
        for (int k = _moduleVars.Count - 1; k >= 0; k--)
            if (_moduleVars[k].Name == name) return _moduleVars[k].Ref;
        return null;
    }

    private Expr ParseModule(string module) => ParseModuleChain(ModuleRef.Root(module)).ToValue(Cur.Line);

    private ModuleRef ParseModuleChain(ModuleRef r)
    {
        while (true)
        {
            int line = Cur.Line;
            if (Accept(Tok.Dot)) r = r.Member(Expect(Tok.Ident, "member name").Text, line);
            else if (r.Type is MArray or MDict && Accept(Tok.LBracket))
            {
                var e = ParseExpr();
                Expect(Tok.RBracket, "']'");
                r = r.Index(e, line);
            }
            else if (r.Type is MFunc && Accept(Tok.LParen))
            {
                var args = new List<Expr?>();
                var regexes = new List<ByteRegex?>();
                if (Cur.Kind != Tok.RParen)
                    do
                    {
                        if (Cur.Kind == Tok.Regex) { args.Add(null); regexes.Add(ParseRegexArgument()); }
                        else { args.Add(ParseExpr()); regexes.Add(null); }
                    } while (Accept(Tok.Comma));
                Expect(Tok.RParen, "')'");
                r = r.Call(args, regexes, line);
            }
            else return r;
        }
    }

    private ByteRegex ParseRegexArgument()
    {
        var rt = Take();
        var flags = Encoding.ASCII.GetString(rt.Bytes!);
        try
        {
            var re = new ByteRegex(YaraRegexParser.ParseRegex(rt.Text, flags.Contains('s'), flags.Contains('i')));
            re.Validate();
            return re;
        }
        catch (RegexSyntaxException e) { throw new SyntaxException(e.Message, rt.Line); }
    }

    /// <summary>
    /// After "for QUANT var": a loop over a module array or dictionary (also with "k, v"), or null (position
    /// unchanged) when the loop is an ordinary one over a range or a list.
    /// </summary>
    private Expr? TryParseModuleFor(Quantifier q, Token var1)
    {
        int start = _i;
        Token? var2 = null;
        if (Accept(Tok.Comma)) var2 = Expect(Tok.Ident, "second loop variable");
        if (!AcceptWord("in") || Cur.Kind != Tok.Ident
            || !(ModuleVar(Cur.Text) is not null || Modules.IsModule(Cur.Text) && _scope.Imported(Cur.Text)))
        {
            _i = start;
            return null;
        }
        var head = Take();
        var iterable = ParseModuleChain(ModuleVar(head.Text) ?? ModuleRef.Root(head.Text));
        if (iterable.Type is not (MArray or MDict)) throw new SyntaxException($"\"{iterable.Name}\" is not an array or dictionary", head.Line);
        if (iterable.Type is MDict != var2 is not null)
            throw new SyntaxException(var2 is null ? "a dictionary loop needs two variables (key, value)" : "an array loop takes one variable", head.Line);
        Expect(Tok.Colon, "':'");
        Expect(Tok.LParen, "'('");
        int slot = _slotBase + _vars.Count;
        _vars.Add(("\0index", slot, VKind.Int));
        MaxSlots = Math.Max(MaxSlots, _vars.Count);
        int bound = _moduleVars.Count;
        if (var2 is null) _moduleVars.Add((var1.Text, iterable.Index(new VarExpr(slot), head.Line)));
        else
        {
            _moduleVars.Add((var1.Text, iterable.Entry(slot, keyOnly: true)));
            _moduleVars.Add((var2.Value.Text, iterable.Entry(slot, keyOnly: false)));
        }
        var body = ParseExpr();
        _moduleVars.RemoveRange(bound, _moduleVars.Count - bound);
        _vars.RemoveAt(_vars.Count - 1);
        Expect(Tok.RParen, "')'");
        var last = new BinExpr(BinOp.Sub, new ModuleLengthExpr(iterable.Module, iterable.Steps), new ConstExpr(Value.Int(1)));
        return new ForInExpr(q, slot, new ConstExpr(Value.Int(0)), last, null, body);
    }

    /// <summary>A loop variable bound to a module value or structure (s, s.name, k, v).</summary>
    private Expr ParseModuleVar(ModuleRef r) => ParseModuleChain(r).ToValue(Cur.Line);
}
