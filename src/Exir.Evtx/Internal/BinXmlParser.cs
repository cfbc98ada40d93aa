using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.Text;

namespace Exir.Evtx.Internal;

/// <summary>
/// Reads the BinXML token stream of one chunk. Offsets in BinXML are relative to the chunk start, so one
/// parser per chunk; names and template definitions are cached by their offset for the chunk's lifetime.
/// Every read is bounds-checked; bad data raises <see cref="EvtxFormatException"/>.
/// Hot methods here and in the writers are AggressiveOptimization: a dump is one short batch run, and
/// tier-0 code for them cost a third of the CPU on a 64 MB log (measured with bench/evtx).
/// </summary>
internal sealed class BinXmlParser(byte[] chunk, int chunkLength)
{
    private const int MaxDepth = 48;
    private const uint FirstDataOffset = 0x200; // names and templates live after the chunk header tables
    // Bounds the work and memory crafted input can cause: a record of a real log has tens to hundreds of
    // nodes, a full chunk a few hundred thousand.
    private const int MaxNodesPerRecord = 200_000;
    private const int MaxNodesPerChunk = 1_000_000;

    private readonly byte[] _d = chunk;
    private readonly int _len = chunkLength;
    private readonly Dictionary<int, string> _names = new();
    private readonly Dictionary<int, TNode[]?> _templates = new();
    private int _nodeBudget;
    private int _chunkBudget = MaxNodesPerChunk;
    private int _recordGrant;
    private readonly List<object>?[] _scratch = new List<object>?[MaxDepth + 2];
    private readonly List<TNode>?[] _contentScratch = new List<TNode>?[MaxDepth + 8];
    private readonly List<TAttribute>?[] _attributeListScratch = new List<TAttribute>?[MaxDepth + 8];
    private ValueSpan[] _arena = new ValueSpan[64];
    private int _arenaUsed;
    private int _inDefinition;
    private KeyValuePair<string, string>[] _attributeScratch = new KeyValuePair<string, string>[8];

    // Token values.
    private const byte TokEof = 0x00, TokOpenStart = 0x01, TokCloseStart = 0x02, TokCloseEmpty = 0x03, TokEnd = 0x04,
        TokValue = 0x05, TokAttribute = 0x06, TokCData = 0x07, TokCharRef = 0x08, TokEntityRef = 0x09,
        TokPiTarget = 0x0a, TokPiData = 0x0b, TokTemplate = 0x0c, TokSubst = 0x0d, TokOptSubst = 0x0e, TokFragment = 0x0f;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    /// <summary>Starts a record: its node budget, taken from what is left of the chunk's.</summary>
    public void StartRecord()
    {
        _chunkBudget -= _recordGrant - Math.Max(_nodeBudget, 0);
        _recordGrant = _nodeBudget = Math.Clamp(_chunkBudget, 0, MaxNodesPerRecord);
        _arenaUsed = 0; // the previous record's template instances are done with
    }

    private void Need(int pos, int count, int end)
    {
        if (pos < 0 || count < 0 || pos > end - count) throw new EvtxFormatException($"read of {count} bytes at 0x{pos:x} past 0x{end:x}");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private uint U32(int p) => BinaryPrimitives.ReadUInt32LittleEndian(_d.AsSpan(p, 4));
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ushort U16(int p) => BinaryPrimitives.ReadUInt16LittleEndian(_d.AsSpan(p, 2));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Spend()
    {
        if (--_nodeBudget < 0) throw new EvtxFormatException("too many BinXML nodes (record or chunk budget spent)");
    }

    /// <summary>Parses a fragment (header, then a template instance or an element) up to EOF or <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public TNode[] ParseFragment(ref int pos, int end, int depth)
    {
        if (depth > MaxDepth) throw new EvtxFormatException("BinXML nested too deep");
        // A record's fragment is nearly always one template instance: no list for that.
        TNode? first = null;
        List<TNode>? more = null;
        while (pos < end)
        {
            byte tok = _d[pos];
            TNode node;
            switch (tok)
            {
                case TokEof:
                    pos++;
                    return Nodes(first, more);
                case TokFragment:
                    Need(pos, 4, end);
                    pos += 4;
                    continue;
                case TokTemplate:
                    node = ParseTemplateInstance(ref pos, end, depth + 1);
                    break;
                case TokOpenStart:
                case TokOpenStart | 0x40:
                    node = ParseElement(ref pos, end, depth + 1);
                    break;
                case TokPiTarget:
                    node = ParsePi(ref pos, end);
                    break;
                default:
                    if (first is not null) return Nodes(first, more); // trailing bytes after a complete fragment
                    throw new EvtxFormatException($"unexpected token 0x{tok:x2} at 0x{pos:x}");
            }
            if (first is null) first = node;
            else (more ??= [first]).Add(node);
        }
        return Nodes(first, more);
    }

    private static TNode[] Nodes(TNode? first, List<TNode>? more) =>
        more is not null ? more.ToArray() : first is null ? [] : [first];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TElement ParseElement(ref int pos, int end, int depth)
    {
        if (depth > MaxDepth) throw new EvtxFormatException("BinXML nested too deep");
        Spend();
        bool hasAttributes = (_d[pos] & 0x40) != 0;
        int p = pos + 1;
        if (HasDependencyId(p, end)) p += 2;
        Need(p, 8, end);
        p += 4; // data size: not needed, every token is self-delimiting
        int nameOffset = (int)U32(p);
        p += 4;
        string name = ReadName(nameOffset, ref p, end);

        TAttribute[] attributes = [];
        if (hasAttributes)
        {
            Need(p, 4, end);
            p += 4; // attribute list size
            var list = (uint)depth < (uint)_attributeListScratch.Length ? _attributeListScratch[depth] ??= new List<TAttribute>(8) : new List<TAttribute>();
            list.Clear();
            while (p < end && (_d[p] & 0xbf) == TokAttribute)
            {
                Spend();
                p++;
                Need(p, 4, end);
                int attrNameOffset = (int)U32(p);
                p += 4;
                string attrName = ReadName(attrNameOffset, ref p, end);
                list.Add(new TAttribute(attrName, ParseAttributeValue(ref p, end)));
            }
            attributes = list.ToArray();
        }
        // The template's names are the intruder's text too: made valid XML names here, once per template.
        name = XmlWriter.SafeElement(name, attributes);

        Need(p, 1, end);
        TNode[] children;
        byte close = _d[p];
        if (close == TokCloseEmpty)
        {
            p++;
            children = [];
        }
        else if (close == TokCloseStart)
        {
            p++;
            children = ParseContent(ref p, end, depth);
        }
        else throw new EvtxFormatException($"element <{name}> not closed (token 0x{close:x2} at 0x{p:x})");
        pos = p;
        return new TElement(name, attributes, children);
    }

    /// <summary>
    /// Records forwarded by WEC and some others carry no template and omit the 2-byte dependency id
    /// before the element size. Decide by which layout yields a plausible name offset: either the
    /// inline name right after the field, or a name earlier in the chunk.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool HasDependencyId(int p, int end)
    {
        if (p + 10 <= end)
        {
            uint withDep = U32(p + 6);
            if (withDep == (uint)(p + 10) || (withDep >= FirstDataOffset && withDep < (uint)p)) return true;
        }
        if (p + 8 <= end)
        {
            uint withoutDep = U32(p + 4);
            if (withoutDep == (uint)(p + 8) || (withoutDep >= FirstDataOffset && withoutDep < (uint)p)) return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TNode[] ParseAttributeValue(ref int p, int end)
    {
        List<TNode>? parts = null;
        while (p < end)
        {
            byte tok = _d[p];
            TNode? node = tok switch
            {
                TokValue or (TokValue | 0x40) => ParseValueText(ref p, end),
                TokSubst or TokOptSubst => ParseSubstitution(ref p, end),
                TokCharRef or (TokCharRef | 0x40) => ParseCharRef(ref p, end),
                TokEntityRef or (TokEntityRef | 0x40) => ParseEntityRef(ref p, end),
                _ => null,
            };
            if (node is null) break;
            (parts ??= new List<TNode>(1)).Add(node);
        }
        return parts is null ? [] : parts.ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TNode[] ParseContent(ref int p, int end, int depth)
    {
        // Depth strictly grows along every parse chain: one scratch list per depth, then one exact array.
        var nodes = (uint)depth < (uint)_contentScratch.Length ? _contentScratch[depth] ??= new List<TNode>(16) : new List<TNode>();
        nodes.Clear(); // a record that failed half-way may have left items
        while (true)
        {
            Need(p, 1, end);
            byte tok = _d[p];
            switch (tok)
            {
                case TokEnd:
                    p++;
                    return nodes.ToArray();
                case TokOpenStart:
                case TokOpenStart | 0x40:
                    nodes.Add(ParseElement(ref p, end, depth + 1));
                    break;
                case TokValue:
                case TokValue | 0x40:
                    nodes.Add(ParseValueText(ref p, end));
                    break;
                case TokSubst:
                case TokOptSubst:
                    nodes.Add(ParseSubstitution(ref p, end));
                    break;
                case TokCharRef:
                case TokCharRef | 0x40:
                    nodes.Add(ParseCharRef(ref p, end));
                    break;
                case TokEntityRef:
                case TokEntityRef | 0x40:
                    nodes.Add(ParseEntityRef(ref p, end));
                    break;
                case TokCData:
                case TokCData | 0x40:
                {
                    Need(p, 3, end);
                    int chars = U16(p + 1);
                    Need(p + 3, chars * 2, end);
                    nodes.Add(new TText(Encoding.Unicode.GetString(_d, p + 3, chars * 2)));
                    p += 3 + chars * 2;
                    break;
                }
                case TokPiTarget:
                    nodes.Add(ParsePi(ref p, end));
                    break;
                case TokTemplate:
                    nodes.Add(ParseTemplateInstance(ref p, end, depth + 1));
                    break;
                case TokEof:
                    // Missing end-element tokens at the end of a stream: accept what is there.
                    return nodes.ToArray();
                default:
                    throw new EvtxFormatException($"unexpected token 0x{tok:x2} in element content at 0x{p:x}");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TText ParseValueText(ref int p, int end)
    {
        Spend();
        Need(p, 2, end);
        byte type = _d[p + 1];
        if (type is not (ValueFormatter.String or ValueFormatter.AnsiString))
            throw new EvtxFormatException($"value token of type 0x{type:x2} at 0x{p:x}");
        Need(p + 2, 2, end);
        int chars = U16(p + 2);
        int bytes = type == ValueFormatter.String ? chars * 2 : chars;
        Need(p + 4, bytes, end);
        var span = _d.AsSpan(p + 4, bytes);
        string text = type == ValueFormatter.String ? Encoding.Unicode.GetString(span) : ValueFormatter.Ansi(span);
        p += 4 + bytes;
        return new TText(text);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TSubstitution ParseSubstitution(ref int p, int end)
    {
        Spend();
        Need(p, 4, end);
        var node = new TSubstitution(U16(p + 1), _d[p] == TokOptSubst);
        p += 4; // token, index, declared type (the value descriptor's type is authoritative)
        return node;
    }

    private TText ParseCharRef(ref int p, int end)
    {
        Need(p, 3, end);
        int c = U16(p + 1);
        p += 3;
        return new TText(((char)c).ToString());
    }

    private TText ParseEntityRef(ref int p, int end)
    {
        Need(p, 5, end);
        int off = (int)U32(p + 1);
        p += 5;
        string name = ReadName(off, ref p, end);
        return new TText(name switch
        {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "apos" => "'",
            _ => "&" + name + ";",
        });
    }

    private TProcessingInstruction ParsePi(ref int p, int end)
    {
        Spend();
        Need(p, 5, end);
        int off = (int)U32(p + 1);
        p += 5;
        string target = XmlWriter.SafePiTarget(ReadName(off, ref p, end));
        string data = "";
        if (p < end && _d[p] == TokPiData)
        {
            Need(p, 3, end);
            int chars = U16(p + 1);
            Need(p + 3, chars * 2, end);
            data = Encoding.Unicode.GetString(_d, p + 3, chars * 2);
            p += 3 + chars * 2;
        }
        return new TProcessingInstruction(target, data);
    }

    /// <summary>
    /// A name is stored once per chunk: next-offset(4) hash(2) count(2) UTF-16 chars and a NUL.
    /// When the reference points at the current position the name is inline and is skipped over.
    /// Names are read from their offset, never from the chunk's hash table, so a damaged table does no harm.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string ReadName(int offset, ref int p, int end)
    {
        bool inline = offset == p;
        if (offset < 0 || offset + 8 > _len) throw new EvtxFormatException($"name offset 0x{offset:x} outside the chunk");
        int chars = U16(offset + 6);
        int size = 8 + chars * 2 + 2;
        if (offset + size > _len) throw new EvtxFormatException($"name at 0x{offset:x} runs past the chunk");
        if (inline)
        {
            Need(p, size, end);
            p += size;
        }
        if (_names.TryGetValue(offset, out var cached)) return cached;
        string name = Encoding.Unicode.GetString(_d, offset + 8, chars * 2);
        _names[offset] = name;
        return name;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TTemplateInstance ParseTemplateInstance(ref int p, int end, int depth)
    {
        Spend();
        Need(p, 10, end);
        int defOffset = (int)U32(p + 6);
        p += 10; // token, unknown byte, template id, definition offset
        if (defOffset == p)
        {
            // Definition inline, first use in this chunk: next(4) guid(16) size(4) body.
            Need(p, 24, end);
            long size = U32(p + 20);
            if (size > end - p - 24) throw new EvtxFormatException($"template definition at 0x{p:x} runs past its record");
            p += 24 + (int)size;
        }
        TNode[] definition = GetTemplate(defOffset, depth);

        Need(p, 4, end);
        long count = U32(p);
        p += 4;
        if (count > (end - p) / 4) throw new EvtxFormatException($"{count} substitution values do not fit at 0x{p:x}");
        // Values of a record's template instances live in an arena reset per record; those of an instance
        // inside a template definition (cached for the chunk) get an array of their own.
        ValueSpan[] values;
        int start = 0;
        if (_inDefinition > 0) values = new ValueSpan[count];
        else
        {
            if (_arenaUsed + count > _arena.Length)
            {
                _arena = new ValueSpan[Math.Max(_arena.Length * 2, (int)count)]; // instances still in use keep the old one
                _arenaUsed = 0;
            }
            values = _arena;
            start = _arenaUsed;
            _arenaUsed += (int)count;
        }
        int dataPos = p + (int)count * 4;
        for (int i = 0; i < count; i++)
        {
            int size = U16(p + 4 * i);
            byte type = _d[p + 4 * i + 2];
            Need(dataPos, size, end);
            values[start + i] = new ValueSpan(type, dataPos, size);
            dataPos += size;
        }
        p = dataPos;
        return new TTemplateInstance(definition, values, start, (int)count);
    }

    private TNode[] GetTemplate(int offset, int depth)
    {
        if (_templates.TryGetValue(offset, out var cached))
            return cached ?? throw new EvtxFormatException($"template definition at 0x{offset:x} is unreadable");
        _templates[offset] = null; // also stops a definition that refers to itself
        if (offset < 0 || offset + 24 > _len) throw new EvtxFormatException($"template definition offset 0x{offset:x} outside the chunk");
        long size = U32(offset + 20);
        int bodyEnd = (int)Math.Min((long)offset + 24 + size, _len);
        int pos = offset + 24;
        TNode[] nodes;
        _inDefinition++;
        try
        {
            nodes = ParseFragment(ref pos, bodyEnd, depth + 1);
        }
        finally
        {
            _inDefinition--;
        }
        _templates[offset] = nodes;
        return nodes;
    }

    // ---- Substitution: turns the parsed nodes plus values into the rendered element tree ----

    /// <summary>Resolves nodes (with the values of the enclosing template instance) into <paramref name="output"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Resolve(TNode[] nodes, ReadOnlySpan<ValueSpan> values, List<object> output, int depth)
    {
        if (depth > MaxDepth) throw new EvtxFormatException("BinXML nested too deep");
        foreach (var node in nodes)
        {
            Spend(); // every resolved node counts, text too: bounds the work a reused template can cause
            switch (node)
            {
                case TElement e:
                    ResolveElement(e, values, output, depth);
                    break;
                case TText t:
                    AppendText(output, t.Text);
                    break;
                case TSubstitution s:
                    ResolveSubstitution(s, values, output, depth);
                    break;
                case TTemplateInstance ti:
                    Resolve(ti.Definition, ti.Values, output, depth + 1);
                    break;
                case TProcessingInstruction pi:
                    output.Add(new XProcessingInstruction(pi.Target, pi.Data));
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryValue(TSubstitution s, ReadOnlySpan<ValueSpan> values, out ValueSpan value)
    {
        if ((uint)s.Index < (uint)values.Length)
        {
            value = values[s.Index];
            return true;
        }
        value = default;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ResolveElement(TElement e, ReadOnlySpan<ValueSpan> values, List<object> output, int depth)
    {
        Spend();
        // An optional substitution whose value is NULL removes the element that immediately encloses it
        // (MS-EVEN6 3.1.4.7.2), when that leaves the element without content: an <Event> whose optional
        // EventData substitution is NULL keeps its System part.
        if (e.Children.Length > 0)
        {
            bool allNullOptional = true;
            foreach (var c in e.Children)
                if (c is not TSubstitution { Optional: true } s || (TryValue(s, values, out var v) && !v.IsNull)) { allNullOptional = false; break; }
            if (allNullOptional) return;
        }

        // An array as the whole content repeats the element once per item (as Windows renders it).
        if (e.Children.Length == 1 && e.Children[0] is TSubstitution only && TryValue(only, values, out var arr) &&
            (arr.Type & ValueFormatter.ArrayFlag) != 0)
        {
            var attrs = ResolveAttributes(e, values);
            var items = ValueFormatter.RenderArray(_d.AsSpan(arr.Offset, arr.Size), arr.Type);
            if (items.Count == 0) items.Add(""); // an empty array still shows its (empty) element
            foreach (var item in items)
            {
                Spend();
                output.Add(new XElement(e.Name) { Attributes = attrs, Content = item.Length == 0 ? null : item });
            }
            return;
        }

        var attributes = ResolveAttributes(e, values);
        object? content = null;
        var last = e.LastElement;
        if (e.Children.Length > 0)
        {
            // Depth strictly grows along every call chain, so one scratch list per depth is never shared.
            var children = _scratch[depth] ??= new List<object>(16);
            children.Clear(); // a record that failed half-way may have left items
            Resolve(e.Children, values, children, depth + 1);
            FinishText(children);
            if (last is not null && ReferenceEquals(last.Attributes, attributes) && SameChildren(last, children))
            {
                // Rendered elements never change once made: one that repeats the previous record's is shared.
                children.Clear();
                output.Add(last);
                return;
            }
            content = XElement.ContentOf(children);
            children.Clear();
        }
        else if (last is not null && ReferenceEquals(last.Attributes, attributes))
        {
            output.Add(last);
            return;
        }
        var x = new XElement(e.Name) { Attributes = attributes, Content = content };
        e.LastElement = x;
        output.Add(x);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool SameChildren(XElement last, List<object> children)
    {
        var had = last.Children;
        if (had.Length != children.Count) return false;
        for (int i = 0; i < had.Length; i++)
            if (!ReferenceEquals(had[i], children[i])) return false;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private KeyValuePair<string, string>[]? ResolveAttributes(TElement e, ReadOnlySpan<ValueSpan> values)
    {
        if (e.Attributes.Length == 0) return null;
        if (e.AttributeKind == 0)
        {
            // Attributes made of text only (Data Name="...", Provider Name="..."): resolved once per template.
            e.AttributeKind = 1;
            foreach (var a in e.Attributes)
                foreach (var part in a.Value)
                    if (part is TSubstitution) e.AttributeKind = 2;
            if (e.AttributeKind == 1) e.ConstantAttributes = ResolveAttributeValues(e, values);
        }
        return e.AttributeKind == 1 ? e.ConstantAttributes : ResolveAttributeValues(e, values);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private KeyValuePair<string, string>[]? ResolveAttributeValues(TElement e, ReadOnlySpan<ValueSpan> values)
    {
        if (_attributeScratch.Length < e.Attributes.Length) _attributeScratch = new KeyValuePair<string, string>[e.Attributes.Length];
        var list = _attributeScratch;
        int count = 0;
        foreach (var a in e.Attributes)
        {
            bool omit = false;
            string text = "";
            System.Text.StringBuilder? many = null;
            foreach (var part in a.Value)
            {
                string piece;
                if (part is TText t) piece = t.Text;
                else if (part is TSubstitution s)
                {
                    if (!TryValue(s, values, out var v) || v.IsNull)
                    {
                        if (s.Optional) { omit = true; break; }
                        continue;
                    }
                    piece = RenderFlat(s, v);
                }
                else continue;
                if (text.Length == 0 && many is null) text = piece;
                else (many ??= new System.Text.StringBuilder(text)).Append(piece);
            }
            if (!omit) list[count++] = new(a.Name, many?.ToString() ?? text);
        }
        // Execution, Security and the like often repeat the previous record's values: share its array then.
        var last = e.LastAttributes;
        if (last is not null && last.Length == count)
        {
            bool same = true;
            for (int i = 0; i < count && same; i++)
                same = ReferenceEquals(last[i].Key, list[i].Key) && string.Equals(last[i].Value, list[i].Value);
            if (same) return last;
        }
        var result = list.AsSpan(0, count).ToArray();
        e.LastAttributes = result;
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ResolveSubstitution(TSubstitution s, ReadOnlySpan<ValueSpan> values, List<object> output, int depth)
    {
        if (!TryValue(s, values, out var v) || v.IsNull) return;
        if (v.Type == ValueFormatter.BinXml)
        {
            // Nested BinXML: a fragment of its own (often another template instance) inside this one.
            int pos = v.Offset;
            var nodes = ParseFragment(ref pos, v.Offset + v.Size, depth + 1);
            Resolve(nodes, default, output, depth + 1);
            return;
        }
        AppendText(output, RenderFlat(s, v));
    }

    /// <summary>
    /// <see cref="RenderFlat(ValueSpan)"/>, reusing the text this substitution rendered last when the bytes
    /// are the same (rendering is a function of the bytes and the type): saves the work and the string.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string RenderFlat(TSubstitution s, ValueSpan v)
    {
        if (v.Size > 512) return RenderFlat(v);
        if (s.LastText is not null && s.LastType == v.Type && s.LastSize == v.Size &&
            _d.AsSpan(s.LastOffset, s.LastSize).SequenceEqual(_d.AsSpan(v.Offset, v.Size)))
            return s.LastText;
        string text = RenderFlat(v);
        s.LastOffset = v.Offset;
        s.LastSize = v.Size;
        s.LastType = v.Type;
        s.LastText = text;
        return text;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string RenderFlat(ValueSpan v)
    {
        var span = _d.AsSpan(v.Offset, v.Size);
        if ((v.Type & ValueFormatter.ArrayFlag) != 0) return string.Join(",", ValueFormatter.RenderArray(span, v.Type));
        if (v.Type == ValueFormatter.BinXml) return Convert.ToHexString(span);
        return ValueFormatter.Render(span, v.Type);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AppendText(List<object> output, string text)
    {
        if (text.Length == 0) return;
        // Adjacent text merges into one string; a builder while it grows, so long runs stay linear.
        if (output.Count > 0)
        {
            switch (output[^1])
            {
                case string prev:
                    output[^1] = new System.Text.StringBuilder(prev, prev.Length + text.Length + 16).Append(text);
                    return;
                case System.Text.StringBuilder run:
                    run.Append(text);
                    return;
            }
        }
        output.Add(text);
    }

    /// <summary>Turns the text runs <see cref="AppendText"/> left as builders into strings.</summary>
    public static void FinishText(List<object> output)
    {
        for (int i = 0; i < output.Count; i++)
            if (output[i] is System.Text.StringBuilder run) output[i] = run.ToString();
    }
}
