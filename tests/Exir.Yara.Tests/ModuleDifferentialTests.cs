using System.Diagnostics;
using System.Text.RegularExpressions;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>
/// The pe, elf and dotnet modules against Debian's yara 4.2.3: every value <c>yara -D</c> prints for yara's test
/// samples and for Windows runtime DLLs of the NuGet cache must be exir's too, and exir must print nothing yara
/// leaves out. Where yara 4.2.3 has since been corrected upstream (its own newer tests expect exir's value), the
/// difference is listed with the reason and not counted.
/// </summary>
/// <remarks>Tier slow: spawns processes, browsers or reference tools, or reads whole corpora; left out of scripts/test.sh --fast.</remarks>
[Trait("Tier", "slow")]
public partial class ModuleDifferentialTests(ITestOutputHelper output)
{
    // Values where yara 4.2.3 differs from later yara (whose test-pe.c expects what exir computes).
    private static readonly (Regex Path, string Why)[] Upstream4_2Bugs =
    [
        (new(@"^pe\.import_details\[\d+\]\.(functions|number_of_functions)"), "4.2.3 numbers functions across DLLs (later yara: per DLL, test-pe.c import_details)"),
        (new(@"^pe\.number_of_imported_functions$"), "follows from the per-DLL numbering above"),
        (new(@"^pe\.export_details\[\d+\]\.offset$"), "4.2.3 writes -1 for an unmapped export (later yara: undefined, test-pe.c invalid_offset)"),
        (new(@"^pe\.IMPORT_ANY$"), "4.2.3 declares -1, later yara 3; both have the two import bits set"),
        (new(@"^dotnet\.assembly_refs\[\d+\]\.public_key_or_token$"), "4.2.3 drops the last byte of the 8-byte token"),
        (new(@"^pe\.rich_signature\."), "4.2.3 ignores a Rich header shorter than 16 bytes (later yara: test-pe.c undersized_rich)"),
        (new(@"^pe\.(number_of_imports|import_details)"), "4.2.3 reads garbage imports from tiny-idata-5200 (later yara: none, test-pe.c)"),
        (new(@"^pe\.pdb_path$"), "4.2.3 misses the CodeView path of 6c2abf4b... (later yara: test-pe.c)"),
    ];

    // Names exir declares as not computed (rules using them are skipped and named).
    private static readonly Regex NotComputed = new(@"^(pe\.(signatures\[\d+\]\.(verified|signer_info|countersignatures|number_of_countersignatures)|is_signed)|dotnet\.(classes|number_of_classes|typelib|constants|number_of_constants|field_offsets|number_of_field_offsets))");

    [Fact]
    public void Module_values_match_yara_dump()
    {
        if (!File.Exists("/usr/bin/yara")) Assert.Skip("yara not installed");
        var files = Directory.GetFiles(YaraTestData.Dir).Order(StringComparer.Ordinal).ToList();
        files.AddRange(RuntimeDlls());
        var dir = TestPaths.NewTempDir("exir-yara-mod");
        int compared = 0, excused = 0;
        var mismatches = new List<string>();
        foreach (var module in YaraModuleDump.DataModules)
        {
            var rule = Path.Combine(dir, module + ".yar");
            File.WriteAllText(rule, $"import \"{module}\" rule x {{ condition: false }}");
            foreach (var f in files)
            {
                // yara 4.2.3 stops reading the #~ tables of large assemblies part way (assembly, references and
                // resources undefined): .NET values are compared on yara's own samples only.
                if (module == "dotnet" && !f.StartsWith(YaraTestData.Dir, StringComparison.Ordinal)) continue;
                var yara = ParseDump(RunYara(rule, f), module, out var declared);
                var exir = YaraModuleDump.Lines(module, File.ReadAllBytes(f)).Select(l => l.Split(" = ", 2)).ToDictionary(p => p[0], p => p[1]);
                foreach (var path in yara.Keys.Union(exir.Keys))
                {
                    yara.TryGetValue(path, out var y);
                    exir.TryGetValue(path, out var e);
                    if (y == e || NotComputed.IsMatch(path) || y is null && !declared.Contains(Normal(path))) continue;
                    compared++;
                    if (Upstream4_2Bugs.Any(b => b.Path.IsMatch(path))) { excused++; continue; }
                    mismatches.Add($"{Path.GetFileName(f)}: {path}: exir {e ?? "undefined"}, yara {y ?? "undefined"}");
                }
                compared += exir.Count;
            }
        }
        output.WriteLine($"{files.Count} files, {compared} values compared, {excused} differences where yara 4.2.3 was later corrected");
        foreach (var m in mismatches.Take(40)) output.WriteLine(m);
        Assert.Empty(mismatches);
    }

    // Rules over the module features, run by both engines on every sample: same (rule, file) matches.
    private const string DifferentialRules = """
        import "pe"
        import "elf"
        import "dotnet"
        import "math"
        import "hash"
        rule pe_text { condition: for any s in pe.sections : (s.name == ".text" and s.characteristics & pe.SECTION_MEM_EXECUTE) }
        rule pe_kernel32 { condition: pe.imports(/kernel32\.dll/i, /^(Get|Set)/) > 2 }
        rule pe_named_import { condition: pe.imports("KERNEL32.dll", "CloseHandle") or pe.imports("kernel32.dll", "GetProcAddress") }
        rule pe_dll_exports { condition: pe.characteristics & pe.DLL and pe.number_of_exports > 0 }
        rule pe_export_regex { condition: pe.exports(/^Dll/) }
        rule pe_versioned { condition: for any k, v in pe.version_info : (k == "CompanyName" and v != "") }
        rule pe_version_product { condition: pe.version_info["ProductName"] contains "Windows" or pe.version_info["ProductName"] contains "Quicken" }
        rule pe_resources { condition: pe.number_of_resources > 0 and pe.resources[0].length > 0 }
        rule pe_lang { condition: pe.language(0x09) }
        rule pe_rich { condition: pe.rich_signature.length > 16 and pe.rich_signature.version(0) >= 0 }
        rule pe_imphash_tiny { condition: pe.imphash() == "1720bf764274b7a4052bbef0a71adc0d" }
        rule pe_overlay { condition: pe.overlay.size > 0 }
        rule pe_checksum { condition: pe.checksum == pe.calculate_checksum() }
        rule pe_entry_text { condition: pe.section_index(pe.entry_point) == 0 }
        rule pe_rva { condition: pe.rva_to_offset(pe.entry_point_raw) == pe.entry_point }
        rule pe_amd64 { condition: pe.machine == pe.MACHINE_AMD64 and pe.is_64bit() }
        rule pe_gui { condition: pe.subsystem == pe.SUBSYSTEM_WINDOWS_GUI }
        rule pe_pdb { condition: pe.pdb_path endswith ".pdb" }
        rule pe_delayed { condition: pe.number_of_delayed_imports > 0 }
        rule pe_entropy_text { condition: for any s in pe.sections : (math.entropy(s.raw_data_offset, s.raw_data_size) > 6.0) }
        rule pe_hash_header { condition: pe.is_pe and hash.md5(0, 2) == "ac6ad5d9b99757c3a878f2d275ace198" }
        rule elf_text { condition: for any s in elf.sections : (s.name == ".text" and s.type == elf.SHT_PROGBITS) }
        rule elf_needed { condition: for any d in elf.dynamic : (d.type == elf.DT_NEEDED) }
        rule elf_func { condition: for any s in elf.dynsym : (s.type == elf.STT_FUNC and s.bind == elf.STB_GLOBAL) }
        rule net { condition: dotnet.is_dotnet and dotnet.number_of_streams > 3 }
        rule net_ref { condition: for any r in dotnet.assembly_refs : (r.name == "mscorlib") }
        rule net_guid { condition: for any g in dotnet.guids : (g matches /^[0-9a-f-]{36}$/) }
        """;

    [Fact]
    public void Module_rules_match_like_yara()
    {
        if (!File.Exists("/usr/bin/yara")) Assert.Skip("yara not installed");
        var dir = TestPaths.NewTempDir("exir-yara-modr");
        var ruleFile = Path.Combine(dir, "m.yar");
        File.WriteAllText(ruleFile, DifferentialRules);
        var rules = Y.Compile(DifferentialRules);
        var files = Directory.GetFiles(YaraTestData.Dir).Order(StringComparer.Ordinal).Concat(RuntimeDlls()).ToList();
        var yara = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
            foreach (var line in RunYara(ruleFile, f, dump: false).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                yara.Add($"{line.Split(' ')[0]} {Path.GetFileName(f)}");
        var exir = new SortedSet<string>(files.SelectMany(f => rules.Scan(File.ReadAllBytes(f)).Select(m => $"{m.Rule.Name} {Path.GetFileName(f)}")), StringComparer.Ordinal);
        output.WriteLine($"{files.Count} files, {yara.Count} (rule, file) matches by yara, {exir.Count} by exir");
        // pdb paths of 6c2abf4b... are found by exir and later yara, not by 4.2.3 (see Upstream4_2Bugs).
        var differences = yara.Except(exir).Select(m => "yara only: " + m).Concat(exir.Except(yara).Select(m => "exir only: " + m)).ToList();
        foreach (var d in differences) output.WriteLine(d);
        Assert.Empty(differences);
    }

    private static IEnumerable<string> RuntimeDlls()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var dir = Path.Combine(root, "microsoft.netcore.app.runtime.win-x64");
        if (!Directory.Exists(dir)) return [];
        // Native and managed (.NET metadata) DLLs, every 7th for speed.
        return Directory.EnumerateFiles(dir, "*.dll", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Where((_, i) => i % 7 == 0).Take(40);
    }

    private static string RunYara(string rule, string file, bool dump = true)
    {
        var psi = new ProcessStartInfo("/usr/bin/yara", dump ? ["-D", rule, file] : [rule, file]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text;
    }

    private static string Normal(string path) => IndexRe().Replace(path, "[]");

    [GeneratedRegex(@"\[\d+\]")]
    private static partial Regex IndexRe();

    /// <summary>yara -D's indented tree as "path = value" (undefined values left out); declared gets every path it names.</summary>
    private static Dictionary<string, string> ParseDump(string text, string module, out HashSet<string> declared)
    {
        var values = new Dictionary<string, string>();
        declared = [];
        var stack = new List<string>();
        bool inModule = false;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            int depth = line.TakeWhile(c => c == '\t').Count();
            var content = line[depth..];
            if (depth == 0) { inModule = content == module; stack = [module]; continue; }
            if (!inModule || depth > stack.Count) continue;
            var parent = stack[depth - 1];
            string path;
            string? value = null;
            var item = Regex.Match(content, @"^\[(\d+)\](?: = (.*))?$");
            if (item.Success) { path = $"{parent}[{item.Groups[1].Value}]"; if (item.Groups[2].Success) value = item.Groups[2].Value; }
            else if (content.IndexOf(" = ", StringComparison.Ordinal) is >= 0 and var i) { path = $"{parent}.{content[..i]}"; value = content[(i + 3)..]; }
            else path = $"{parent}.{content}";
            stack.RemoveRange(depth, stack.Count - depth);
            stack.Add(path);
            declared.Add(Normal(path));
            if (value is not null && value != "YR_UNDEFINED") values[path] = value;
        }
        return values;
    }
}
