using System.Buffers;

namespace Exir.Yara;

/// <summary>
/// The scanned data as the engine and the module parsers read it: an array or a read-only memory-mapped file,
/// behind one indexer, so a big file is scanned where it lies instead of being copied into the managed heap.
/// </summary>
internal readonly struct Bytes(ReadOnlyMemory<byte> memory)
{
    public int Length => memory.Length;
    public byte this[long i] => memory.Span[(int)i];
    public ReadOnlySpan<byte> AsSpan(int start) => memory.Span[start..];
    public ReadOnlySpan<byte> AsSpan(int start, int length) => memory.Span.Slice(start, length);

    public static implicit operator Bytes(byte[] array) => new(array);
}

/// <summary>Memory over an unmanaged range (a mapped view), valid only while the view is held.</summary>
internal sealed unsafe class UnmanagedBytes(byte* pointer, int length) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => new(pointer, length);
    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);
    public override void Unpin() { }
    protected override void Dispose(bool disposing) { }
}
