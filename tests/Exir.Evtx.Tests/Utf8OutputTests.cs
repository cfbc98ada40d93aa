using System.Buffers;
using System.Text;

namespace Exir.Evtx.Tests;

/// <summary>
/// WriteJson/WriteXml (what `exir evtx` writes) give exactly the bytes a UTF-8 writer gives for ToJson()/ToXml(),
/// whether the chunk workers rendered the record ahead (EvtxRender.Json/Xml) or not.
/// </summary>
public sealed class Utf8OutputTests
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Compares both byte paths with the string paths for every record read; returns the record count.</summary>
    private static int AssertSameBytesOnce(Func<IEnumerable<EvtxRecord>> read, string what, EvtxRender render)
    {
        var output = new ArrayBufferWriter<byte>();
        int records = 0;
        foreach (var r in read())
        {
            output.ResetWrittenCount();
            r.WriteJson(output);
            Assert.True(Utf8.GetBytes(r.ToJson()).AsSpan().SequenceEqual(output.WrittenSpan), $"{what}: record {r.HeaderRecordId} JSON ({render})");
            output.ResetWrittenCount();
            r.WriteXml(output);
            Assert.True(Utf8.GetBytes(r.ToXml()).AsSpan().SequenceEqual(output.WrittenSpan), $"{what}: record {r.HeaderRecordId} XML ({render})");
            records++;
        }
        return records;
    }

    /// <summary>An in-memory file read with the chunk workers rendering ahead as <paramref name="render"/> says.</summary>
    private static IEnumerable<EvtxRecord> Read(byte[] file, EvtxRender render) =>
        EvtxReader.ReadRecords(new MemoryStream(file, writable: false), null, 3, render);

    [Fact]
    [Trait("Tier", "slow")]
    public void Byte_output_equals_string_output_on_the_whole_corpus()
    {
        if (!Directory.Exists(ReferenceCorpus.EvtxDir)) Assert.Skip("EVTX corpus not present (../shared/corpus/evtx)");
        var files = Directory.GetFiles(ReferenceCorpus.EvtxDir, "*.evtx", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        int records = 0;
        foreach (var file in files)
            foreach (var render in new[] { EvtxRender.None, EvtxRender.Json, EvtxRender.Xml })
                records += AssertSameBytesOnce(() => EvtxReader.ReadRecords(file, null, render), file, render);
        Assert.True(records > 3 * 10_000, $"{records} records");
    }

    [Fact]
    [Trait("Tier", "slow")]
    public void Byte_output_equals_string_output_on_damaged_files()
    {
        var samples = new[] { "omerbenamram-evtx/security.evtx", "omerbenamram-evtx/security_bad_string_cache.evtx" }
            .Select(s => Path.Combine(ReferenceCorpus.EvtxDir, s)).ToArray();
        if (!samples.All(File.Exists)) Assert.Skip("EVTX corpus not present (../shared/corpus/evtx)");
        var random = new Random(15);
        int records = 0;
        foreach (var sample in samples)
        {
            var original = File.ReadAllBytes(sample);
            for (int round = 0; round < 12; round++)
            {
                var bytes = (byte[])original.Clone();
                // Flips inside the chunks (token bytes, sizes, offsets, strings) and sometimes a truncation.
                for (int k = 0; k < 40; k++) bytes[0x1000 + random.Next(bytes.Length - 0x1000)] ^= (byte)(1 + random.Next(255));
                if (round % 3 == 2) Array.Resize(ref bytes, 0x1000 + random.Next(bytes.Length - 0x1000));
                foreach (var render in new[] { EvtxRender.None, EvtxRender.Json, EvtxRender.Xml })
                    records += AssertSameBytesOnce(() => Read(bytes, render),
                        $"{sample} mutation {round}", render);
            }
        }
        Assert.True(records > 1000, $"{records} records");
    }

    [Fact]
    public void Lone_surrogates_and_controls_give_the_same_bytes_as_a_utf8_writer()
    {
        // The hostile file's computer name ends in a lone high surrogate: JSON keeps it, UTF-8 writes U+FFFD.
        var file = HostileXmlTests.HostileFile();
        foreach (var render in new[] { EvtxRender.None, EvtxRender.Json, EvtxRender.Xml })
            Assert.Equal(1, AssertSameBytesOnce(() => Read(file, render), "hostile", render));
        var record = Assert.Single(Read(file, EvtxRender.Json));
        var output = new ArrayBufferWriter<byte>();
        record.WriteJson(output);
        Assert.Contains("HOST\\u0007\uFFFD", Encoding.UTF8.GetString(output.WrittenSpan));
    }
}
