using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Exir.Core.Evidence;

/// <summary>One central directory record, as the archive states it (every field is the writer's claim).</summary>
internal readonly record struct ZipRecord(
    int Index, string Name, int NameLength, ushort Flags, ushort Method, ushort DosTime, ushort DosDate,
    long CompressedSize, long UncompressedSize, long LocalHeaderOffset)
{
    public bool IsDirectory => Name.EndsWith('/') || Name.EndsWith('\\');
    public bool Encrypted => (Flags & 1) != 0;

    /// <summary>The least the member's local header and data occupy: the header, its name (as the directory gives it), the data.</summary>
    public long MinimalEnd(long bound) =>
        LocalHeaderOffset < 0 || CompressedSize < 0 || LocalHeaderOffset > bound || CompressedSize > bound ? long.MaxValue
        : LocalHeaderOffset + 30 + NameLength + CompressedSize;

    public DateTimeOffset? LastWriteUtc
    {
        get
        {
            int year = 1980 + (DosDate >> 9), month = (DosDate >> 5) & 15, day = DosDate & 31;
            int hour = DosTime >> 11, minute = (DosTime >> 5) & 63, second = (DosTime & 31) * 2;
            if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
            // DOS times carry no zone: read as the local time of the machine, as System.IO.Compression does.
            return new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Local)).ToUniversalTime();
        }
    }
}

/// <summary>
/// Reads a zip's central directory straight from the file, record by record, without building an object per
/// entry for the life of the scan (System.IO.Compression keeps every entry of every reader: a million-entry
/// archive cost gigabytes). Handles zip64. Damage is an <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class ZipCentralDirectory
{
    private const uint EocdSignature = 0x06054b50, Zip64LocatorSignature = 0x07064b50, Zip64EocdSignature = 0x06064b50, CentralSignature = 0x02014b50;

    private ZipCentralDirectory(long offset, long size, long declaredEntries)
    {
        Offset = offset;
        Size = size;
        DeclaredEntries = declaredEntries;
    }

    public long Offset { get; }
    public long Size { get; }
    public long DeclaredEntries { get; }

    public static ZipCentralDirectory Locate(SafeFileHandle file)
    {
        long length = RandomAccess.GetLength(file);
        int tail = (int)Math.Min(length, 22 + ushort.MaxValue);
        if (tail < 22) throw new InvalidDataException("too short to be a zip");
        var buffer = new byte[tail];
        ReadExactly(file, buffer, length - tail);
        for (int i = tail - 22; i >= 0; i--)
        {
            var e = buffer.AsSpan(i);
            if (BinaryPrimitives.ReadUInt32LittleEndian(e) != EocdSignature) continue;
            // A comment must end at the end of the file, or the signature was part of something else.
            if (i + 22 + BinaryPrimitives.ReadUInt16LittleEndian(e[20..]) > tail) continue;
            long eocdAt = length - tail + i;
            long entries = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
            long offset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            long end = eocdAt;
            if (eocdAt >= 20)
            {
                var locator = new byte[20];
                ReadExactly(file, locator, eocdAt - 20);
                if (BinaryPrimitives.ReadUInt32LittleEndian(locator) == Zip64LocatorSignature)
                {
                    long at = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(locator.AsSpan(8)), long.MaxValue);
                    if (at < 0 || at > eocdAt - 20 - 56) throw new InvalidDataException("zip64 end record out of bounds");
                    var z = new byte[56];
                    ReadExactly(file, z, at);
                    if (BinaryPrimitives.ReadUInt32LittleEndian(z) != Zip64EocdSignature) throw new InvalidDataException("zip64 end record damaged");
                    entries = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(z.AsSpan(32)), long.MaxValue);
                    size = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(z.AsSpan(40)), long.MaxValue);
                    offset = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(z.AsSpan(48)), long.MaxValue);
                    end = at;
                }
            }
            if (offset < 0 || size < 0 || offset > end || size > end - offset)
                throw new InvalidDataException("central directory out of bounds");
            return new ZipCentralDirectory(offset, size, entries);
        }
        throw new InvalidDataException("no end of central directory record (not a zip, or cut short)");
    }

    /// <summary>
    /// The records in directory order, streamed. Stops quietly at the end of the directory; a record that does not
    /// parse ends the walk with <paramref name="damage"/> set.
    /// </summary>
    public IEnumerable<ZipRecord> Records(SafeFileHandle file, Action<string> damage)
    {
        using var stream = new BufferedStream(new FileRangeStream(file, Offset, Size), 1 << 16);
        var fixedPart = new byte[46];
        var variable = new byte[3 * ushort.MaxValue];
        for (int index = 0; ; index++)
        {
            int got = stream.ReadAtLeast(fixedPart, 46, throwOnEndOfStream: false);
            if (got == 0) yield break;
            if (got < 46 || BinaryPrimitives.ReadUInt32LittleEndian(fixedPart) != CentralSignature)
            {
                damage($"central directory damaged after {index:N0} entries");
                yield break;
            }
            var h = fixedPart.AsSpan();
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            ushort time = BinaryPrimitives.ReadUInt16LittleEndian(h[12..]);
            ushort date = BinaryPrimitives.ReadUInt16LittleEndian(h[14..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long offset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            int rest = nameLength + extraLength + commentLength;
            if (stream.ReadAtLeast(variable.AsSpan(0, rest), rest, throwOnEndOfStream: false) < rest)
            {
                damage($"central directory cut short after {index:N0} entries");
                yield break;
            }
            var name = Encoding.UTF8.GetString(variable, 0, nameLength);
            ReadZip64(variable.AsSpan(nameLength, extraLength), ref uncompressed, ref compressed, ref offset);
            yield return new ZipRecord(index, name, nameLength, flags, method, time, date, compressed, uncompressed, offset);
        }
    }

    /// <summary>The zip64 extra field holds, in order, the values the fixed header marks with all-ones.</summary>
    private static void ReadZip64(ReadOnlySpan<byte> extra, ref long uncompressed, ref long compressed, ref long offset)
    {
        while (extra.Length >= 4)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (size > extra.Length - 4) return;
            var field = extra.Slice(4, size);
            if (id == 1)
            {
                if (uncompressed == uint.MaxValue && TakeLong(ref field, out var u)) uncompressed = u;
                if (compressed == uint.MaxValue && TakeLong(ref field, out var c)) compressed = c;
                if (offset == uint.MaxValue && TakeLong(ref field, out var o)) offset = o;
                return;
            }
            extra = extra[(4 + size)..];
        }
    }

    private static bool TakeLong(ref ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        if (field.Length < 8) return false;
        value = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(field), long.MaxValue);
        field = field[8..];
        return true;
    }

    /// <summary>Where a member's data starts, from its local header (whose name and extra lengths may differ from the directory's).</summary>
    public static long DataStart(SafeFileHandle file, long localHeaderOffset)
    {
        var h = new byte[30];
        ReadExactly(file, h, localHeaderOffset);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != 0x04034b50) throw new InvalidDataException("no local header where the central directory points");
        return localHeaderOffset + 30 + BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(28));
    }

    private static void ReadExactly(SafeFileHandle file, byte[] buffer, long offset)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(file, buffer.AsSpan(done), offset + done);
            if (n <= 0) throw new InvalidDataException("zip cut short");
            done += n;
        }
    }
}

/// <summary>
/// A read-only view of a byte range of a file, read at explicit offsets: any number of these share one handle
/// across threads (no shared position), so one open file serves every worker.
/// </summary>
internal sealed class FileRangeStream(SafeFileHandle file, long start, long length) : Stream
{
    private long _position;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        long left = length - _position;
        if (left <= 0 || buffer.Length == 0) return 0;
        if (buffer.Length > left) buffer = buffer[..(int)left];
        int n = RandomAccess.Read(file, buffer, start + _position);
        _position += n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
