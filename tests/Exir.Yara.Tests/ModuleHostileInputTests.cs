using System.Buffers.Binary;
using System.Diagnostics;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>
/// Truncated and damaged PE, .NET and ELF files: the module parsers must neither throw nor run away. The dump
/// calls the parsers without the scan's safety net, so an exception fails the test instead of hiding as undefined.
/// </summary>
public class ModuleHostileInputTests
{
    private static readonly string[] Samples =
    [
        "tiny", "mtxex.dll", "pe_imports", "pe_mingw", "079a472d22290a94ebb212aa8015cdc8dd28a968c6b4d3b88acdd58ce2d3b885",
        "0ca09bde7602769120fadc4f7a4147347a7a97271370583586c9e587fd396171", "elf_with_imports",
    ];

    private static void AllModules(byte[] data, string what)
    {
        foreach (var module in YaraModuleDump.DataModules)
        {
            try { YaraModuleDump.Lines(module, data); }
            catch (Exception e) { Assert.Fail($"{module} module threw on {what}: {e}"); }
        }
    }

    [Fact]
    public void Truncated_files_parse_without_exceptions()
    {
        foreach (var name in Samples)
        {
            var full = YaraTestData.Read(name);
            int step = Math.Max(1, full.Length / 300);
            for (int n = 0; n < full.Length; n += n < 1024 ? 7 : step) AllModules(full[..n], $"{name} cut at {n}");
        }
    }

    [Fact]
    public void Damaged_headers_and_tables_parse_without_exceptions_and_quickly()
    {
        var rng = new Random(1414);
        uint[] nasty = [0, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x80000010, 0xFFFF, 0x10000, 1];
        var watch = Stopwatch.StartNew();
        int cases = 0;
        foreach (var name in Samples)
        {
            var original = YaraTestData.Read(name);
            for (int k = 0; k < 150; k++, cases++)
            {
                var data = (byte[])original.Clone();
                int edits = rng.Next(1, 12);
                for (int e = 0; e < edits; e++)
                {
                    // Mostly the headers and tables near the start, sometimes anywhere.
                    int limit = rng.Next(4) == 0 ? data.Length : Math.Min(data.Length, 2048);
                    int at = rng.Next(0, Math.Max(1, limit - 4)) & ~3;
                    if (rng.Next(2) == 0) BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at), nasty[rng.Next(nasty.Length)]);
                    else data[at] = (byte)rng.Next(256);
                }
                AllModules(data, $"{name} damaged copy {k}");
            }
        }
        // ~1,000 damaged files: a parser that loops or reads a table without bound shows up here.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"{cases} damaged files took {watch.Elapsed}");
    }

    [Fact]
    public void A_resource_directory_pointing_at_itself_ends()
    {
        var data = YaraTestData.Read("mtxex.dll");
        var lines = YaraModuleDump.Lines("pe", data);
        long rva = Field(lines, "pe.data_directories[2].virtual_address"), offset = -1;
        for (int i = 0; Field(lines, $"pe.sections[{i}].virtual_address") is >= 0 and var va; i++)
            if (rva >= va && rva < va + Field(lines, $"pe.sections[{i}].raw_data_size"))
                offset = Field(lines, $"pe.sections[{i}].raw_data_offset") + rva - va;
        Assert.True(offset > 0, "no resource directory found");
        // Every entry of the root directory now points back at the root directory.
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((int)offset + 12)) + BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((int)offset + 14));
        for (int e = 0; e < entries; e++) BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan((int)offset + 16 + 8 * e + 4), 0x80000000);
        var watch = Stopwatch.StartNew();
        AllModules(data, "mtxex.dll with a resource loop");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
        Assert.True(YaraTestData.Holds("pe", "pe.number_of_resources == 0", data));
    }

    [Fact]
    public void Damaged_signatures_parse_without_exceptions()
    {
        var original = YaraTestData.Read("3b8b90159fa9b6048cc5410c5d53f116943564e4d05b04a843f9b3d0540d0c1c");
        var lines = YaraModuleDump.Lines("pe", original);
        long at = Field(lines, "pe.data_directories[4].virtual_address"), size = Field(lines, "pe.data_directories[4].size");
        Assert.True(at > 0 && size > 0 && at + size <= original.Length, "no certificate table");
        var rng = new Random(4);
        for (int k = 0; k < 300; k++)
        {
            var data = (byte[])original.Clone();
            for (int e = 0; e < rng.Next(1, 6); e++) data[at + rng.Next((int)size)] = (byte)rng.Next(256);
            AllModules(data, $"signature damaged, copy {k}");
        }
        // Cut inside the certificate table: the WIN_CERTIFICATE length then runs past the data.
        AllModules(original[..(int)(at + size / 2)], "certificate table cut in half");
    }

    private static long Field(List<string> lines, string path)
        => lines.FirstOrDefault(l => l.StartsWith(path + " = ", StringComparison.Ordinal)) is { } l ? long.Parse(l[(path.Length + 3)..]) : -1;

    [Fact]
    public void Scanning_damaged_files_with_module_rules_never_throws()
    {
        var rules = Y.Compile("""
            import "pe"
            import "elf"
            import "dotnet"
            rule p { condition: pe.imphash() == "x" or for any s in pe.sections : (s.name == ".text") or pe.version_info["A"] == "b" }
            rule e { condition: for any s in elf.symtab : (s.name == "main") or elf.entry_point == 0 }
            rule d { condition: dotnet.is_dotnet and for any g in dotnet.guids : (g == "x") }
            """);
        var rng = new Random(99);
        foreach (var name in Samples)
        {
            var original = YaraTestData.Read(name);
            for (int k = 0; k < 40; k++)
            {
                var data = (byte[])original.Clone();
                for (int e = 0; e < 8; e++) data[rng.Next(Math.Min(data.Length, 1024))] = (byte)rng.Next(256);
                var result = rules.Scan(data);
                Assert.Empty(result.Problems);
            }
        }
    }
}
