using System.Buffers.Binary;
using System.Text;

namespace Exir.Detection.Tests;

/// <summary>Small synthetic artifacts built in code (no third-party samples).</summary>
internal static class PipelineFixtures
{
    /// <summary>A minimal valid minidump whose module list names the given images (first = dumped process).</summary>
    public static byte[] MiniDump(DateTimeOffset created, params string[] modules)
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        w.Write("MDMP"u8.ToArray());
        w.Write(0x0000A793u);           // version
        w.Write(1u);                    // streams
        w.Write(32u);                   // directory rva
        w.Write(0u);                    // checksum
        w.Write((uint)created.ToUnixTimeSeconds());
        w.Write(0ul);                   // flags
        w.Write(4u);                    // ModuleListStream
        int listSize = 4 + modules.Length * 108;
        w.Write((uint)listSize);
        w.Write(44u);
        w.Write((uint)modules.Length);
        int stringsAt = 44 + listSize;
        var names = new MemoryStream();
        for (int i = 0; i < modules.Length; i++)
        {
            var entry = new byte[108];
            BinaryPrimitives.WriteUInt64LittleEndian(entry, 0x7ff600000000ul + (ulong)i * 0x100000);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(20), (uint)(stringsAt + names.Length));
            w.Write(entry);
            var text = Encoding.Unicode.GetBytes(modules[i]);
            names.Write(BitConverter.GetBytes((uint)text.Length));
            names.Write(text);
        }
        w.Write(names.ToArray());
        w.Write(new byte[256]); // memory would follow
        return ms.ToArray();
    }

    public static byte[] SevenZip() => [(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8];

    public static string Write(string root, string relative, byte[] content, DateTime? mtimeUtc = null)
    {
        var path = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        if (mtimeUtc is { } m) File.SetLastWriteTimeUtc(path, m);
        return path;
    }
}
