namespace Exir.Evtx.Internal;

/// <summary>Bad data inside a chunk: caught per record or per chunk, never escapes the reader.</summary>
internal sealed class EvtxFormatException(string message) : Exception(message);

// The parsed BinXML token stream before substitution ("T" = template side). Template definitions
// are parsed once into these nodes and cached per chunk by their offset.
internal abstract class TNode;

internal sealed class TElement(string name, TAttribute[] attributes, TNode[] children) : TNode
{
    public readonly string Name = name;
    public readonly TAttribute[] Attributes = attributes;
    public readonly TNode[] Children = children;
    /// <summary>The resolved attributes when none has a substitution: the same for every use, shared.</summary>
    public KeyValuePair<string, string>[]? ConstantAttributes;
    /// <summary>0 not yet known, 1 constant (<see cref="ConstantAttributes"/>), 2 has substitutions.</summary>
    public byte AttributeKind;
    /// <summary>The attributes this element resolved to last (never changed once made): reused when the values repeat.</summary>
    public KeyValuePair<string, string>[]? LastAttributes;
    /// <summary>The element this node rendered to last: reused when attributes and children are the same objects.</summary>
    public XElement? LastElement;
}

internal sealed class TAttribute(string name, TNode[] value)
{
    public readonly string Name = name;
    public readonly TNode[] Value = value;
}

internal sealed class TText(string text) : TNode
{
    public readonly string Text = text;
}

internal sealed class TSubstitution(int index, bool optional) : TNode
{
    public readonly int Index = index;
    public readonly bool Optional = optional;
    // The value this substitution rendered last (where its bytes lie in the chunk, and the text): the
    // same field of consecutive records often holds the same bytes (computer, user, keywords, SIDs).
    public int LastOffset, LastSize;
    public byte LastType;
    public string? LastText;
}

internal sealed class TProcessingInstruction(string target, string data) : TNode
{
    public readonly string Target = target;
    public readonly string Data = data;
}

/// <summary>A use of a template: the cached definition plus this record's substitution values.</summary>
internal sealed class TTemplateInstance(TNode[] definition, ValueSpan[] store, int start, int count) : TNode
{
    public readonly TNode[] Definition = definition;
    private readonly ValueSpan[] _store = store;
    private readonly int _start = start, _count = count;
    /// <summary>The values, in a slice of the parser's per-record arena (or an array of their own).</summary>
    public ReadOnlySpan<ValueSpan> Values => _store.AsSpan(_start, _count);
}

/// <summary>One substitution value: its type and where its bytes lie in the chunk.</summary>
internal readonly record struct ValueSpan(byte Type, int Offset, int Size)
{
    public bool IsNull => Type == 0;
}

// The rendered document ("X" = resolved): what ToXml writes and the System/Data fields come from.
internal sealed class XElement(string name)
{
    public readonly string Name = name;
    public KeyValuePair<string, string>[]? Attributes;
    /// <summary>
    /// The children: null when none, the child itself when one (most elements hold one text), else an
    /// object[] of them. A child is an XElement, a string (text, unescaped) or an XProcessingInstruction.
    /// </summary>
    public object? Content;

    /// <summary>Children (see <see cref="Content"/>), empty when none; a one-child view needs no array.</summary>
    public ReadOnlySpan<object> Children =>
        Content is object[] many ? many : Content is null ? default : new ReadOnlySpan<object>(ref Content!);

    public bool HasChildren => Content is not null;

    public static object? ContentOf(List<object> children) => children.Count switch
    {
        0 => null,
        1 => children[0],
        _ => children.ToArray(),
    };

    public string? Attribute(string name)
    {
        if (Attributes is null) return null;
        foreach (var a in Attributes) if (a.Key == name) return a.Value;
        return null;
    }

    public XElement? Child(string name)
    {
        foreach (var c in Children) if (c is XElement e && e.Name == name) return e;
        return null;
    }

    /// <summary>The concatenated text of this element and its descendants.</summary>
    public string Text()
    {
        if (Content is null) return "";
        if (Content is string s) return s;
        var sb = new System.Text.StringBuilder();
        AppendText(sb);
        return sb.ToString();
    }

    private void AppendText(System.Text.StringBuilder sb)
    {
        foreach (var c in Children)
        {
            if (c is string s) sb.Append(s);
            else if (c is XElement e) e.AppendText(sb);
        }
    }

    public bool HasElementChildren
    {
        get
        {
            foreach (var c in Children) if (c is XElement) return true;
            return false;
        }
    }
}

internal sealed class XProcessingInstruction(string target, string data)
{
    public readonly string Target = target;
    public readonly string Data = data;
}
