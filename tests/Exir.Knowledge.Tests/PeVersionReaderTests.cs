using System.Diagnostics;
using Exir.Knowledge.Discovery;

namespace Exir.Knowledge.Tests;

public class PeVersionReaderTests
{
    [Fact]
    public void ReadsFileVersionOfExSetupLikeImage()
    {
        var pe = PeImageBuilder.WithVersion(15, 1, 2176, 14, "15.01.2176.014");
        var v = PeVersionReader.Read(pe, out var error);
        Assert.Null(error);
        Assert.NotNull(v);
        Assert.Equal((15, 1, 2176, 14), (v.Major, v.Minor, v.Build, v.Revision));
        Assert.Equal("15.01.2176.014", v.FileVersionText);
    }

    [Fact]
    public void ReadsRealPeProducedByTheCompiler()
    {
        // Our own assembly is a real PE with a linker-written version resource; the runtime reads the same numbers.
        var path = typeof(ExchangeKnowledge).Assembly.Location;
        using var s = File.OpenRead(path);
        var v = PeVersionReader.Read(s, out var error);
        Assert.True(v is not null, error);
        var fvi = FileVersionInfo.GetVersionInfo(path);
        Assert.Equal((fvi.FileMajorPart, fvi.FileMinorPart, fvi.FileBuildPart, fvi.FilePrivatePart), (v.Major, v.Minor, v.Build, v.Revision));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { (byte)'M', (byte)'Z' })]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })]
    public void GarbageGivesAnErrorNotAnException(byte[] data)
    {
        Assert.Null(PeVersionReader.Read(data, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void TruncatedOrCorruptedImagesNeverThrow()
    {
        var pe = PeImageBuilder.WithVersion(15, 2, 1748, 49);
        for (int cut = 0; cut < pe.Length; cut += 7)
            PeVersionReader.Read(pe.AsSpan(0, cut), out _);
        var rng = new Random(1234);
        int read = 0;
        for (int i = 0; i < 3000; i++)
        {
            var copy = (byte[])pe.Clone();
            for (int k = 0; k < 4; k++) copy[rng.Next(0x3C, 0x200 + 0x100)] = (byte)rng.Next(256);
            if (PeVersionReader.Read(copy, out var err) is not null) read++;
            else Assert.NotNull(err);
        }
        // Most flips land in fields that do not matter; a reader that gave up on everything would be wrong too.
        Assert.InRange(read, 100, 3000);
    }
}
