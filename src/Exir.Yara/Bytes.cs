using System.Buffers;

namespace Exir.Yara;

/// <summary>
/// The scanned data as the engine and the module parsers read it: an array or a read-only memory-mapped file,
/// behind one indexer, so a big file is scanned where it lies instead of being copied into the managed heap.
/// </summary>
internal readonly struct Bytes(ReadOnlyMemory<byte> memory, UnmanagedBytes? mapped = null)
{
    public int Length => memory.Length;

    /// <summary>
    /// Hints that [from, to) is not needed now (a mapped file only): its pages leave the process's resident set and
    /// come back from the page cache if read again, so walking a file bigger than memory keeps the resident set small.
    /// </summary>
    public void Release(long from, long to) => mapped?.Release(from, to);
    public byte this[long i] => memory.Span[(int)i];
    public ReadOnlySpan<byte> AsSpan(int start) => memory.Span[start..];
    public ReadOnlySpan<byte> AsSpan(int start, int length) => memory.Span.Slice(start, length);

    public static implicit operator Bytes(byte[] array) => new(array);
}

/// <summary>Memory over an unmanaged range (a mapped view), valid only while the view is held.</summary>
internal sealed unsafe partial class UnmanagedBytes(byte* pointer, int length) : MemoryManager<byte>
{
    private const int MadvDontNeed = 4;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

    public void Release(long from, long to)
    {
        // Linux only: MADV_DONTNEED on a read-only file mapping drops the page-table entries, never data.
        if (!OperatingSystem.IsLinux()) return;
        long page = Environment.SystemPageSize;
        from = (from + page - 1) / page * page;
        to = Math.Min(to, length) / page * page;
        if (to > from) Madvise((nint)(pointer + from), (nuint)(to - from), MadvDontNeed);
    }

    public override Span<byte> GetSpan() => new(pointer, length);
    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);
    public override void Unpin() { }
    protected override void Dispose(bool disposing) { }
}
