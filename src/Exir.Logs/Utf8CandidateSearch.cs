using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Exir.Logs;

/// <summary>
/// Finds, in UTF-8 bytes, the first place a log line needs a closer look: the start of one of the literals
/// (ASCII, case-insensitive), a '%' escape that could hide a letter when escapes matter, a '#' that starts a line (a directive), or a byte
/// that is not plain ASCII text (NUL or 0x80 and above: such lines are decoded and judged as text, so
/// non-ASCII case mappings and undecodable bytes are handled exactly as before).
/// The literal search is a packed compare in the style of Teddy (Hyperscan): four consecutive bytes of every
/// literal set its bucket's bit in two nibble tables; 32 positions are tested at once with byte shuffles, and
/// only positions whose bucket bits survive all four bytes are verified. The four bytes are the literal's
/// rarest run in a sample of the file (a literal's first bytes, "Mai" of MailboxExportRequest, are often in every
/// line). Case folding costs nothing: a letter's two cases share the low nibble and both high nibbles are set.
/// </summary>
public sealed class Utf8CandidateSearch
{
    private const int Buckets = 8;
    // Bytes of each literal in the tables: with 8 buckets of 3-4 literals, the nibble tables also pass mixtures
    // ("gua" for "ges" and "exa"); a fourth byte cuts those false alarms by more than it costs.
    private const int Fingerprint = 4;
    private readonly (byte[] Bytes, int Offset)[][] _bucketLiterals; // per bucket, the literals lower-cased and where their fingerprint starts
    private readonly Vector256<byte>[] _lo, _hi;   // per fingerprint byte k: nibble tables, duplicated in both lanes
    private readonly int _fingerprint;            // bytes of each literal in the tables (1 to 3)
    private readonly bool _percent;
    private readonly byte[] _scalarLo, _scalarHi;  // the same tables for the scalar tail: [k * 16 + nibble]

    private Utf8CandidateSearch(byte[][] literals, int[] offsets, int fingerprint, bool percent)
    {
        _percent = percent;
        _fingerprint = fingerprint;
        var ordered = literals.Select((b, i) => (Bytes: b, Offset: offsets[i]))
            .OrderBy(l => Convert.ToHexString(l.Bytes.AsSpan(l.Offset, fingerprint)), StringComparer.Ordinal).ToArray();
        // Literals with the same fingerprint start share a bucket, so a common one raises one bucket's bit, not many.
        var buckets = new List<(byte[], int)>[Buckets];
        for (int b = 0; b < Buckets; b++) buckets[b] = [];
        for (int i = 0; i < ordered.Length; i++) buckets[i * Buckets / Math.Max(1, ordered.Length)].Add(ordered[i]);
        _bucketLiterals = buckets.Select(b => b.ToArray()).ToArray();
        _scalarLo = new byte[Fingerprint * 16];
        _scalarHi = new byte[Fingerprint * 16];
        for (int b = 0; b < Buckets; b++)
            foreach (var (lit, offset) in _bucketLiterals[b])
                for (int k = 0; k < _fingerprint; k++)
                    foreach (byte c in CaseVariants(lit[offset + k]))
                    {
                        _scalarLo[k * 16 + (c & 0xF)] |= (byte)(1 << b);
                        _scalarHi[k * 16 + (c >> 4)] |= (byte)(1 << b);
                    }
        _lo = new Vector256<byte>[Fingerprint];
        _hi = new Vector256<byte>[Fingerprint];
        for (int k = 0; k < Fingerprint; k++)
        {
            var lo = Vector128.Create(_scalarLo.AsSpan(k * 16, 16));
            var hi = Vector128.Create(_scalarHi.AsSpan(k * 16, 16));
            _lo[k] = Vector256.Create(lo, lo);
            _hi[k] = Vector256.Create(hi, hi);
        }
    }

    /// <summary>
    /// A search for these literals, or null when a literal cannot be searched byte-wise (not printable ASCII:
    /// the caller then reads through the decoded text). Empty literals are ignored. <paramref name="sample"/>
    /// (the start of the text to search; its first 8 KiB) picks which bytes of each literal are tested first.
    /// </summary>
    public static Utf8CandidateSearch? TryCreate(IEnumerable<string> literals, bool percent, ReadOnlySpan<byte> sample = default)
    {
        var list = literals.Where(l => l.Length > 0).ToArray();
        if (list.Any(l => l.Any(c => c is < ' ' or > '~'))) return null;
        // In one order whatever the caller's, so the same literals make the same search.
        var bytes = list.Select(l => l.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(Encoding.ASCII.GetBytes).ToArray();
        int fingerprint = bytes.Length == 0 ? 1 : Math.Min(Fingerprint, bytes.Min(l => l.Length));
        var offsets = RarestWindows(bytes, fingerprint, sample);
        // Logs of one kind pick the same bytes, and a scan opens hundreds of them: each search is built once.
        var key = Key(bytes, offsets, percent);
        if (Built.TryGetValue(key, out var search)) return search;
        search = new Utf8CandidateSearch(bytes, offsets, fingerprint, percent);
        if (Built.Count < MaxBuilt) Built.TryAdd(key, search);
        return search;
    }

    // Searches are immutable, so files and threads share them. Bounded: crafted samples could pick ever new bytes.
    private const int MaxBuilt = 256;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Utf8CandidateSearch> Built = new(StringComparer.Ordinal);

    /// <summary>The literals (printable ASCII), where each one's fingerprint starts, and the '%' switch, as one string.</summary>
    private static string Key(byte[][] literals, int[] offsets, bool percent)
    {
        var key = new StringBuilder(literals.Sum(l => l.Length + 2) + 1).Append(percent ? '%' : '-');
        for (int i = 0; i < literals.Length; i++)
        {
            key.Append((char)offsets[i]);
            foreach (byte b in literals[i]) key.Append((char)b);
            key.Append('\0');
        }
        return key.ToString();
    }

    private const int WindowHashBits = 14;

    /// <summary>
    /// Where the run of <paramref name="width"/> bytes of each literal least frequent in the sample starts (the
    /// first such on ties): "equ" of MailboxExportRequest is in every HttpProxy line (BeginRequest) though 'q' is rare.
    /// </summary>
    private static int[] RarestWindows(byte[][] literals, int width, ReadOnlySpan<byte> sample)
    {
        // A few dozen lines show which runs every line repeats; counting all 64 KiB cost 8% of a scan's time.
        sample = sample[..Math.Min(sample.Length, 8 * 1024)];
        var counts = System.Buffers.ArrayPool<int>.Shared.Rent(1 << WindowHashBits);
        try
        {
            Array.Clear(counts, 0, 1 << WindowHashBits);
            for (int i = 0; i + width <= sample.Length; i++) counts[WindowHash(Run(sample, i, width))]++;
            var offsets = new int[literals.Length];
            for (int l = 0; l < literals.Length; l++)
            {
                int bestCount = int.MaxValue;
                for (int o = 0; o + width <= literals[l].Length; o++)
                {
                    int count = counts[WindowHash(Run(literals[l], o, width))];
                    if (count < bestCount) { bestCount = count; offsets[l] = o; }
                }
            }
            return offsets;
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(counts);
        }
    }

    /// <summary>The <paramref name="width"/> (1 to 4) bytes at <paramref name="at"/>, ASCII letters lower-cased, as one number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Run(ReadOnlySpan<byte> bytes, int at, int width)
    {
        uint x;
        if (at + 4 <= bytes.Length) x = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
        else { x = 0; for (int k = 0; k < width; k++) x |= (uint)bytes[at + k] << (8 * k); }
        if (width < 4) x &= (1u << (8 * width)) - 1;
        // Each byte 'A'..'Z' gains 0x20 (its 0x80 bit marks it, shifted down to 0x20); other bytes stay.
        uint low7 = x & 0x7F7F7F7Fu;
        uint upper = (low7 + 0x3F3F3F3Fu) & ~(low7 + 0x25252525u) & ~x & 0x80808080u;
        return x | (upper >> 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int WindowHash(uint run) => (int)((run * 0x9E3779B1u) >> (32 - WindowHashBits));

    private static IEnumerable<byte> CaseVariants(byte c) =>
        c is >= (byte)'a' and <= (byte)'z' ? [c, (byte)(c - 32)] : [c];

    /// <summary>
    /// Position of the first candidate in <paramref name="text"/>, or -1. For a directive the position is its
    /// '#' (the line start); a line starting at position 0 with '#' is the caller's to test. A literal cut by the
    /// end of <paramref name="text"/> is not reported (its line is incomplete; the caller searches it again).
    /// </summary>
    public int IndexOf(ReadOnlySpan<byte> text)
    {
        int i = 0;
        if (Avx2.IsSupported)
        {
            ref byte start = ref MemoryMarshal.GetReference(text);
            // The loads of a step read positions i .. i+34: stop while all of them are inside the text.
            int lastVector = text.Length - Vector256<byte>.Count - (Fingerprint - 1);
            var nibble = Vector256.Create((byte)0x0F);
            var percent = Vector256.Create(_percent ? (byte)'%' : (byte)0);
            var newline = Vector256.Create((byte)'\n');
            var hash = Vector256.Create((byte)'#');
            var one = Vector256.Create((sbyte)1);
            for (; i <= lastVector; i += Vector256<byte>.Count)
            {
                var v0 = Vector256.LoadUnsafe(ref start, (nuint)i);
                var v1 = Vector256.LoadUnsafe(ref start, (nuint)(i + 1));
                var found = Buckets256(v0, 0, nibble);
                if (_fingerprint > 1) found &= Buckets256(v1, 1, nibble);
                for (int k = 2; k < _fingerprint; k++) found &= Buckets256(Vector256.LoadUnsafe(ref start, (nuint)(i + k)), k, nibble);
                // NUL and bytes >= 0x80 are the signed bytes below 1; '%' only when asked (else the compare is with NUL, already caught).
                var special = Vector256.LessThan(v0.AsSByte(), one).AsByte() | Vector256.Equals(v0, percent)
                    | (Vector256.Equals(v0, newline) & Vector256.Equals(v1, hash));
                var any = ~Vector256.Equals(found, Vector256<byte>.Zero) | special;
                uint bits = any.ExtractMostSignificantBits();
                while (bits != 0)
                {
                    int at = i + BitOperations.TrailingZeroCount(bits);
                    if (Confirm(text, at, Unsafe.Add(ref start, at) is (byte)'\n' ? (byte)0 : found.GetElement(at - i)) is int hit and >= 0) return hit;
                    bits &= bits - 1;
                }
            }
        }
        for (; i < text.Length; i++)
        {
            byte b = text[i];
            byte buckets = (byte)(_scalarLo[b & 0xF] & _scalarHi[b >> 4]);
            for (int k = 1; k < _fingerprint && buckets != 0; k++)
            {
                if (i + k >= text.Length) { buckets = 0; break; }
                byte c = text[i + k];
                buckets &= (byte)(_scalarLo[k * 16 + (c & 0xF)] & _scalarHi[k * 16 + (c >> 4)]);
            }
            bool special = b == 0 || b >= 0x80 || (_percent && b == '%') || b == '\n';
            if ((special || buckets != 0) && Confirm(text, i, buckets) is int hit and >= 0) return hit;
        }
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector256<byte> Buckets256(Vector256<byte> v, int k, Vector256<byte> nibble) =>
        Avx2.Shuffle(_lo[k], v & nibble) & Avx2.Shuffle(_hi[k], Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble);

    /// <summary>
    /// The candidate at <paramref name="at"/>: its position (a literal's start, which can be a little before: its
    /// fingerprint need not be its first bytes; still on the same line), that of the '#' after a newline, or -1 when
    /// the bucket bits were a false alarm.
    /// </summary>
    private int Confirm(ReadOnlySpan<byte> text, int at, byte buckets)
    {
        byte b = text[at];
        if (b == 0 || b >= 0x80) return at;
        // An escape that cannot hide a letter or digit (%2F, %3A) makes no candidate; one cut by the end might.
        if (_percent && b == '%' && UrlDecoding.EscapeMayHideText(at + 1 < text.Length ? text[at + 1] : '4', at + 2 < text.Length ? text[at + 2] : -1)) return at;
        if (b == '\n') return at + 1 < text.Length && text[at + 1] == '#' ? at + 1 : -1;
        while (buckets != 0)
        {
            int bucket = BitOperations.TrailingZeroCount(buckets);
            buckets &= (byte)(buckets - 1);
            foreach (var (lit, offset) in _bucketLiterals[bucket])
            {
                int start = at - offset;
                if (start >= 0 && start + lit.Length <= text.Length && Ascii.EqualsIgnoreCase(text.Slice(start, lit.Length), lit)) return start;
            }
        }
        return -1;
    }
}
