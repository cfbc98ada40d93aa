using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Exir.Evtx.Tests;

/// <summary>
/// Writes small EVTX files in code, token by token, so tests can exercise BinXML features the corpus
/// lacks or holds only by accident. Follows the layout of the libevtx format documentation.
/// </summary>
internal sealed class EvtxBuilder
{
    private const int ChunkSize = 0x10000;
    private readonly byte[] _chunk = new byte[ChunkSize];
    private readonly Dictionary<string, int> _names = new();
    private readonly Dictionary<string, int> _templates = new();
    private int _pos = 0x200;
    private ulong _records;
    private readonly Stack<(int SizeAt, int AttributesAt)> _open = new();
    private int _lastRecord;

    /// <summary>One substitution value: its type and bytes.</summary>
    public readonly record struct Value(byte Type, byte[] Bytes, Action<EvtxBuilder>? Nested = null)
    {
        /// <summary>Nested BinXML (type 0x21), written in place because its offsets are chunk-relative.</summary>
        public static Value BinXml(Action<EvtxBuilder> fragment) => new(0x21, [], fragment);
        public static Value Null => new(0x00, []);
        public static Value Str(string s) => new(0x01, Encoding.Unicode.GetBytes(s));
        public static Value U8(byte v) => new(0x04, [v]);
        public static Value U16(ushort v) => new(0x06, BitConverter.GetBytes(v));
        public static Value U32(uint v) => new(0x08, BitConverter.GetBytes(v));
        public static Value U64(ulong v) => new(0x0a, BitConverter.GetBytes(v));
        public static Value Hex32(uint v) => new(0x14, BitConverter.GetBytes(v));
        public static Value FileTime(DateTime t) => new(0x11, BitConverter.GetBytes(t.ToFileTimeUtc()));
        public static Value Guid(Guid g) => new(0x0f, g.ToByteArray());
        public static Value Bool(bool b) => new(0x0d, BitConverter.GetBytes(b ? 1 : 0));
        public static Value Binary(params byte[] b) => new(0x0e, b);
        public static Value StrArray(params string[] items) => new(0x81, Encoding.Unicode.GetBytes(string.Concat(items.Select(i => i + "\0"))));
        public static Value Sid(string sid)
        {
            var parts = sid.Split('-');
            var b = new List<byte> { byte.Parse(parts[1]), (byte)(parts.Length - 3), 0, 0, 0, 0, 0, byte.Parse(parts[2]) };
            foreach (var p in parts.Skip(3)) b.AddRange(BitConverter.GetBytes(uint.Parse(p)));
            return new(0x13, b.ToArray());
        }
    }

    // ---- BinXML token writer: appends at the current position of the chunk ----

    public EvtxBuilder Byte(byte b) { _chunk[_pos++] = b; return this; }
    private void U16(int v) { BinaryPrimitives.WriteUInt16LittleEndian(_chunk.AsSpan(_pos), (ushort)v); _pos += 2; }
    private void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(_pos), v); _pos += 4; }
    private void Bytes(ReadOnlySpan<byte> b) { b.CopyTo(_chunk.AsSpan(_pos)); _pos += b.Length; }

    /// <summary>A name reference: inline at first use in the chunk, by offset afterwards.</summary>
    private void Name(string name)
    {
        if (_names.TryGetValue(name, out var at)) { U32((uint)at); return; }
        U32((uint)(_pos + 4));
        _names[name] = _pos;
        U32(0);
        U16(0); // hash: not checked by readers that go by offset
        U16(name.Length);
        Bytes(Encoding.Unicode.GetBytes(name));
        U16(0);
    }

    public EvtxBuilder Then(Action<EvtxBuilder> step) { step(this); return this; }

    public EvtxBuilder Fragment() { Bytes([0x0f, 0x01, 0x01, 0x00]); return this; }

    public EvtxBuilder Open(string name, bool attributes = false, bool dependencyId = true)
    {
        Byte(attributes ? (byte)0x41 : (byte)0x01);
        if (dependencyId) U16(0xffff);
        int sizeAt = _pos;
        U32(0); // data size, patched when the element closes (libevtx reads by it)
        Name(name);
        int attributesAt = -1;
        if (attributes) { attributesAt = _pos; U32(0); }
        _open.Push((sizeAt, attributesAt));
        return this;
    }

    private void EndAttributes()
    {
        var (_, at) = _open.Peek();
        if (at >= 0) BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(at), (uint)(_pos - at - 4));
    }

    private EvtxBuilder Close(byte token)
    {
        Byte(token);
        var (sizeAt, _) = _open.Pop();
        BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(sizeAt), (uint)(_pos - sizeAt - 4));
        return this;
    }

    public EvtxBuilder Attr(string name) { Byte(0x06); Name(name); return this; }
    public EvtxBuilder CloseStart() { EndAttributes(); return Byte(0x02); }
    public EvtxBuilder CloseEmpty() { EndAttributes(); return Close(0x03); }
    public EvtxBuilder End() => Close(0x04);
    public EvtxBuilder Eof() => Byte(0x00);

    public EvtxBuilder Text(string s) { Byte(0x05); Byte(0x01); U16(s.Length); Bytes(Encoding.Unicode.GetBytes(s)); return this; }
    public EvtxBuilder Sub(int index, byte type, bool optional = false) { Byte(optional ? (byte)0x0e : (byte)0x0d); U16(index); Byte(type); return this; }
    public EvtxBuilder CharRef(char c) { Byte(0x08); U16(c); return this; }
    public EvtxBuilder EntityRef(string name) { Byte(0x09); Name(name); return this; }
    public EvtxBuilder Pi(string target, string data) { Byte(0x0a); Name(target); Byte(0x0b); U16(data.Length); Bytes(Encoding.Unicode.GetBytes(data)); return this; }

    /// <summary>A template instance: the definition inline at first use of <paramref name="key"/>, by offset afterwards.</summary>
    public EvtxBuilder Template(string key, Action<EvtxBuilder> body, params Value[] values)
    {
        Byte(0x0c);
        Byte(0x01);
        U32(0x1234);
        if (_templates.TryGetValue(key, out var at)) U32((uint)at);
        else
        {
            U32((uint)(_pos + 4));
            _templates[key] = _pos;
            U32(0);                      // next definition
            Bytes(new byte[16]);         // GUID
            int sizeAt = _pos;
            U32(0);
            int start = _pos;
            Fragment();
            body(this);
            Eof();
            BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(sizeAt), (uint)(_pos - start));
        }
        U32((uint)values.Length);
        int descriptors = _pos;
        foreach (var v in values) { U16(v.Bytes.Length); Byte(v.Type); Byte(0); }
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i].Nested is not { } nested) { Bytes(values[i].Bytes); continue; }
            int start = _pos;
            Fragment();
            nested(this);
            Eof();
            BinaryPrimitives.WriteUInt16LittleEndian(_chunk.AsSpan(descriptors + 4 * i), (ushort)(_pos - start));
        }
        return this;
    }

    /// <summary>Writes one record whose BinXML <paramref name="body"/> produces.</summary>
    public EvtxBuilder Record(ulong id, DateTime written, Action<EvtxBuilder> body)
    {
        int start = _lastRecord = _pos;
        U32(0x00002a2a);
        U32(0);
        BinaryPrimitives.WriteUInt64LittleEndian(_chunk.AsSpan(_pos), id); _pos += 8;
        BinaryPrimitives.WriteInt64LittleEndian(_chunk.AsSpan(_pos), written.ToFileTimeUtc()); _pos += 8;
        body(this);
        while ((_pos - start + 4) % 8 != 0) Byte(0);
        U32((uint)(_pos - start + 4));
        BinaryPrimitives.WriteUInt32LittleEndian(_chunk.AsSpan(start + 4), (uint)(_pos - start));
        _records++;
        return this;
    }

    /// <summary>The file: header plus this one chunk, CRCs correct.</summary>
    public byte[] Build()
    {
        var c = _chunk;
        "ElfChnk\0"u8.CopyTo(c);
        BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(16), _records);
        BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(24), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(c.AsSpan(32), _records);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(40), 128);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(44), (uint)_lastRecord);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(48), (uint)_pos);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(52), Crc32.HashToUInt32(c.AsSpan(0x200, _pos - 0x200)));
        var crc = new Crc32();
        crc.Append(c.AsSpan(0, 120));
        crc.Append(c.AsSpan(128, 0x200 - 128));
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(124), crc.GetCurrentHashAsUInt32());

        var file = new byte[0x1000 + ChunkSize];
        "ElfFile\0"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(24), _records + 1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(32), 128);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(36), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(38), 3);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(40), 0x1000);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(42), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(124), Crc32.HashToUInt32(file.AsSpan(0, 120)));
        c.CopyTo(file, 0x1000);
        return file;
    }
}
