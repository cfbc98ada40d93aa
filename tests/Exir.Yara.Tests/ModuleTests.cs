using System.Text;
using Exir.Tests;
using Exir.Yara;

namespace Exir.Yara.Tests;

/// <summary>The sample files of yara's own test suite (../shared/reference/yara-tests/tests/data).</summary>
internal static class YaraTestData
{
    public static string Dir => TestPaths.InShared("reference", "yara-tests", "tests", "data");

    public static byte[] Read(string name)
    {
        var path = Path.Combine(Dir, name);
        if (!File.Exists(path)) Assert.Skip($"yara test sample {name} is missing from {Dir}");
        return File.ReadAllBytes(path);
    }

    /// <summary>Compiles one condition (with the module imported) and evaluates it on the data.</summary>
    public static bool Holds(string module, string condition, byte[] data)
    {
        var rules = Y.Compile($"import \"{module}\"\nrule t {{ condition: {condition} }}");
        return rules.Scan(data).Count == 1;
    }
}

public class ModulePeTests
{
    private static bool Pe(string condition, string sample) => YaraTestData.Holds("pe", condition, YaraTestData.Read(sample));

    [Fact]
    public void Header_fields_and_versions()
    {
        Assert.True(Pe("pe.is_pe and pe.number_of_sections == 7 and pe.entry_point == 0x14E0", "tiny"));
        Assert.True(Pe("pe.linker_version.major == 2 and pe.linker_version.minor == 26 and pe.is_32bit() and not pe.is_64bit()", "tiny"));
        Assert.True(Pe("pe.entry_point_raw == 0x1380 and pe.is_dll() and pe.is_64bit()", "mtxex.dll"));
        Assert.True(Pe("not pe.is_pe", "tiny-macho"));
        Assert.False(Pe("pe.number_of_sections >= 0", "tiny-macho"));
    }

    [Fact]
    public void Sections_by_index_by_loop_and_by_name()
    {
        Assert.True(Pe("pe.sections[0].name == \".text\" and pe.sections[6].name == \".tls\" and pe.section_index(\".idata\") == 4", "tiny"));
        Assert.True(Pe("for all section in pe.sections : (section.name == section.full_name)", "tiny"));
        Assert.True(Pe("for any section in pe.sections : (section.name == \"/4\" and section.full_name == \".debug_aranges\")", "pe_mingw"));
        Assert.False(Pe("for any section in pe.sections : (section.name == \".nope\")", "tiny"));
        Assert.True(Pe("pe.section_index(pe.sections[2].raw_data_offset) == 2 and pe.section_index(pe.entry_point) == 0", "tiny"));
    }

    [Fact]
    public void Imports_by_name_ordinal_regex_and_kind()
    {
        Assert.True(Pe("pe.imports(\"KERNEL32.dll\", \"DeleteCriticalSection\") and pe.imports(\"kernel32.DLL\", \"deletecriticalsection\")", "tiny"));
        Assert.True(Pe("pe.imports(/.*/, /.*CriticalSection/) == 4 and pe.imports(/kernel32\\.dll/i, /.*/) == 21", "tiny"));
        Assert.True(Pe("pe.number_of_imports == 2 and pe.number_of_imported_functions == 48 and pe.imports(\"msvcrt.dll\") == 27", "tiny"));
        Assert.True(Pe("pe.imports(pe.IMPORT_DELAYED, \"USER32.dll\", \"MessageBoxA\") and not pe.imports(\"USER32.dll\", \"MessageBoxA\")", "pe_imports"));
        Assert.True(Pe("pe.imports(pe.IMPORT_ANY, \"KERNEL32.dll\", \"DeleteCriticalSection\") and pe.imports(pe.IMPORT_ANY, \"USER32.dll\", \"MessageBoxA\")", "pe_imports"));
        Assert.True(Pe("pe.number_of_delayed_imports == 1 and pe.number_of_delayed_imported_functions == 2", "pe_imports"));
        Assert.True(Pe("pe.number_of_imports == 0", "tiny-idata-5200"));
        Assert.True(Pe("pe.import_rva(\"ptimagerw.dll\", \"ORD4\") == 254924 and pe.import_rva(\"ptPDF417decode.dll\", 4) == 254948",
            "ca21e1c32065352d352be6cde97f89c141d7737ea92434831f998080783d5386"));
    }

    [Fact]
    public void Import_details_nested_loops()
    {
        Assert.True(Pe("""
            for any import_detail in pe.import_details : (import_detail.library_name == "MSVCR100.dll" and
              for any function in import_detail.functions : (function.name == "_initterm" and function.rva == 0x3084))
            """, "079a472d22290a94ebb212aa8015cdc8dd28a968c6b4d3b88acdd58ce2d3b885"));
        Assert.True(Pe("pe.import_details[1].number_of_functions == 27 and pe.import_details[1].functions[26].name == \"vfprintf\"", "tiny"));
        Assert.True(Pe("""
            for any d in pe.delayed_import_details : (d.library_name == "USER32.dll" and
              for any f in d.functions : (f.name == "MessageBeep" and f.rva == 0x13880))
            """, "pe_imports"));
    }

    [Fact]
    public void Exports_and_export_details()
    {
        Assert.True(Pe("pe.exports(\"saferef\") and pe.exports(4) and pe.exports(/mtscreateactivity/i) and not pe.exports(\"nope\")", "mtxex.dll"));
        Assert.True(Pe("pe.exports_index(\"MTSCreateActivity\") == 2 and pe.exports_index(3) == 2", "mtxex.dll"));
        Assert.True(Pe("""
            pe.number_of_exports == 4 and pe.dll_name == "mtxex.dll" and pe.export_timestamp == 1827812126 and
            pe.export_details[0].offset == 1072 and pe.export_details[0].name == "DllGetClassObject" and
            pe.export_details[1].forward_name == "COMSVCS.GetObjectContext" and pe.export_details[3].rva == 0x26ca
            """, "mtxex.dll"));
        Assert.True(Pe("not pe.exports(\"x\") and pe.number_of_exports == 0", "tiny"));
    }

    [Fact]
    public void Imphash_matches_pefile()
    {
        Assert.True(Pe("pe.imphash() == \"1720bf764274b7a4052bbef0a71adc0d\"", "tiny"));
        Assert.True(Pe("pe.imphash() == \"d49b7870cb53f29ec3f42b11cc8bea8b\"", "e3d45a2865818756068757d7e319258fef40dad54532ee4355b86bc129f27345"));
    }

    [Fact]
    public void Rich_signature()
    {
        const string sample = "079a472d22290a94ebb212aa8015cdc8dd28a968c6b4d3b88acdd58ce2d3b885";
        Assert.True(Pe("""
            pe.rich_signature.toolid(157, 40219) == 1 and pe.rich_signature.toolid(1, 0) > 40 and pe.rich_signature.toolid(1, 0) < 45 and
            pe.rich_signature.version(30319) and pe.rich_signature.version(40219, 170) == 11 and pe.rich_signature.offset == 128
            """, sample));
        Assert.True(Pe("pe.rich_signature.offset == 0x200 and pe.rich_signature.length == 64 and pe.rich_signature.key == 0x9f1d8511", "weird_rich"));
        Assert.True(Pe("pe.rich_signature.clear_data startswith \"DanS\"", "weird_rich"));
    }

    [Fact]
    public void Version_info_dictionary_list_and_loops()
    {
        const string sample = "079a472d22290a94ebb212aa8015cdc8dd28a968c6b4d3b88acdd58ce2d3b885";
        Assert.True(Pe("pe.version_info[\"FileVersion\"] == \"27.1.9.33\" and pe.version_info[\"CompanyName\"] == \"Quicken Inc.\"", sample));
        Assert.True(Pe("for any v in pe.version_info_list : (v.key == \"FileVersion\" and v.value == \"27.1.9.33\")", sample));
        Assert.True(Pe("for any k, v in pe.version_info : (k == \"ProductName\" and v contains \"Quicken\")", sample));
        Assert.False(Pe("for any k, v in pe.version_info : (k == \"Nope\")", sample));
        Assert.True(Pe("pe.number_of_version_infos == 12 and pe.version_info[\"Comments\"] == \"\"", "ca21e1c32065352d352be6cde97f89c141d7737ea92434831f998080783d5386"));
    }

    [Fact]
    public void Resources_language_overlay_checksum_pdb()
    {
        Assert.True(Pe("pe.number_of_resources == 1 and pe.resources[0].rva == 5462081 and pe.resources[0].length == 888", "mtxex_modified_rsrc_rva.dll"));
        Assert.True(Pe("pe.language(0x09) and pe.locale(0x0409) and not pe.locale(0x0407)", "mtxex.dll"));
        Assert.True(Pe("pe.overlay.size > 0 and pe.overlay.offset + pe.overlay.size == filesize", "tiny-overlay"));
        Assert.True(Pe("pe.overlay.offset == 0 and pe.overlay.size == 0", "tiny"));
        Assert.True(Pe("pe.checksum == pe.calculate_checksum()", "mtxex.dll"));
        Assert.False(Pe("pe.checksum == pe.calculate_checksum()", "tiny-idata-51ff"));
        Assert.True(Pe("pe.rva_to_offset(4096) == 1024", "c6f9709feccf42f2d9e22057182fe185f177fb9daaa2649b4669a24f2ee7e3ba_0h_410h"));
        Assert.True(Pe("pe.pdb_path endswith \"ChipTune.dll\"", "ChipTune.efi"));
        Assert.True(Pe("pe.data_directories[pe.IMAGE_DIRECTORY_ENTRY_IMPORT].virtual_address != 0", "tiny"));
    }

    [Fact]
    public void Authenticode_signatures_are_described_by_their_signer_and_certificates()
    {
        const string signed = "079a472d22290a94ebb212aa8015cdc8dd28a968c6b4d3b88acdd58ce2d3b885";
        Assert.True(Pe("""
            pe.number_of_signatures == 1 and
            pe.signatures[0].thumbprint == "c1bf1b8f751bf97626ed77f755f0a393106f2454" and
            pe.signatures[0].subject == "/C=US/ST=California/L=Menlo Park/O=Quicken, Inc./OU=Operations/CN=Quicken, Inc." and
            pe.signatures[0].issuer == "/C=US/O=Symantec Corporation/OU=Symantec Trust Network/CN=Symantec Class 3 SHA256 Code Signing CA" and
            pe.signatures[0].serial == "21:bd:b2:cb:ec:e5:43:1e:24:f7:56:74:d6:0e:9c:1d" and
            pe.signatures[0].not_before == 1491955200 and pe.signatures[0].not_after == 1559692799 and pe.signatures[0].version == 3 and
            pe.signatures[0].algorithm == "sha256WithRSAEncryption" and pe.signatures[0].algorithm_oid == "1.2.840.113549.1.1.11" and
            pe.signatures[0].digest_alg == "sha1" and pe.signatures[0].digest == "f4ca190ec9052243b8882d492b1c12d04da7817f" and
            pe.signatures[0].file_digest == pe.signatures[0].digest and
            pe.signatures[0].number_of_certificates == 4 and
            pe.signatures[0].certificates[0].serial == "7e:93:eb:fb:7c:c6:4e:59:ea:4b:9a:77:d4:06:fc:3b" and
            pe.signatures[0].certificates[0].issuer == "/C=ZA/ST=Western Cape/L=Durbanville/O=Thawte/OU=Thawte Certification/CN=Thawte Timestamping CA" and
            pe.signatures[0].certificates[3].subject == "/C=US/O=Symantec Corporation/OU=Symantec Trust Network/CN=Symantec Class 3 SHA256 Code Signing CA" and
            pe.signatures[0].valid_on(1500000000) and not pe.signatures[0].valid_on(1600000000)
            """, signed));
        Assert.True(Pe("for any s in pe.signatures : (s.subject contains \"Quicken\")", signed));
        // A nested (second) signature counts as yara counts it.
        Assert.True(Pe("pe.number_of_signatures == 2", "3b8b90159fa9b6048cc5410c5d53f116943564e4d05b04a843f9b3d0540d0c1c"));
        Assert.True(Pe("pe.number_of_signatures == 0", "e3d45a2865818756068757d7e319258fef40dad54532ee4355b86bc129f27345"));
    }

    [Fact]
    public void Functions_are_undefined_on_other_files()
    {
        var text = Encoding.ASCII.GetBytes("hello");
        Assert.False(YaraTestData.Holds("pe", "pe.imphash() == \"\" or not pe.imphash() == \"\"", text));
        Assert.False(YaraTestData.Holds("pe", "pe.exports(\"x\") or not pe.exports(\"x\")", text));
        Assert.True(YaraTestData.Holds("pe", "not pe.is_pe", text));
        Assert.True(YaraTestData.Holds("pe", "pe.MACHINE_AMD64 == 0x8664 and pe.DLL == 0x2000", text));
    }
}

public class ModuleMathStringHashTests
{
    private static bool Holds(string module, string condition, string data = "") => YaraTestData.Holds(module, condition, Y.B(data));

    [Theory]
    [InlineData("math.mode() == 0x41", "ABABA")]
    [InlineData("math.mode(2, 3) == 0x41", "CCABACC")]
    [InlineData("math.serial_correlation(\"BCA\") == -0.5", "")]
    [InlineData("math.serial_correlation(1, 3) == -0.5", "ABCABC")]
    [InlineData("math.monte_carlo_pi(\"ABCDEF123456987\") < 0.3", "")]
    [InlineData("math.monte_carlo_pi(3, 15) < 0.3", "123ABCDEF123456987DE")]
    [InlineData("math.to_string(1234) == \"1234\" and math.to_string(-1) == \"-1\"", "")]
    [InlineData("math.to_string(32, 16) == \"20\" and math.to_string(32, 8) == \"40\" and math.to_string(-1, 16) == \"ffffffffffffffff\"", "")]
    [InlineData("math.to_string(-1, 8) == \"1777777777777777777777\"", "")]
    [InlineData("math.count(0x41, 0, 3) == 2 and math.percentage(0x41, 1, 2) == 0.5 and math.count(0x41) == 4", "AABAAB")]
    [InlineData("math.entropy(\"AABB\") == 1.0 and math.deviation(\"ABAB\", 65.0) == 0.5 and math.mean(\"ABCABC\") == 66.0", "")]
    [InlineData("math.min(-1, 1) == 1 and math.max(-1, 1) == -1", "")] // yara compares unsigned
    [InlineData("math.MEAN_BYTES == 127.5", "")]
    public void Math_matches_yara(string condition, string data) => Assert.True(Holds("math", condition, data));

    [Theory]
    [InlineData("math.to_string(32, 9) == \"\" or not (math.to_string(32, 9) == \"\")")]
    [InlineData("math.count(0x41, 10, 3) >= 0 or not (math.count(0x41, 10, 3) >= 0)")]
    [InlineData("math.count(-1) >= 0 or not (math.count(-1) >= 0)")]
    [InlineData("math.percentage(0x41, 0, 0) >= 0 or not (math.percentage(0x41, 0, 0) >= 0)")]
    public void Math_undefined_cases_make_the_condition_false(string condition) => Assert.False(Holds("math", condition, "AABAAB"));

    [Theory]
    [InlineData("string.to_int(\"1234\") == 1234 and string.to_int(\"-1\") == -1 and string.to_int(\" +1\") == 1")]
    [InlineData("string.to_int(\"0x10\") == 16 and string.to_int(\"010\") == 8 and string.to_int(\"10\", 8) == 8")]
    [InlineData("string.to_int(\"010\", 0) == 8 and string.to_int(\"0x10\", 0) == 16 and string.to_int(\"10\", 0) == 10 and string.to_int(\"z\", 36) == 35")]
    [InlineData("string.to_int(\"9223372036854775807\") == 9223372036854775807 and string.to_int(\"-9223372036854775808\") == -9223372036854775807 - 1")]
    [InlineData("string.length(\"AXS\\x00ERS\") == 7")]
    public void String_module_matches_strtoll(string condition) => Assert.True(Holds("string", condition));

    [Theory]
    [InlineData("\"1\", -1")]
    [InlineData("\"1\", 1")]
    [InlineData("\"1\", 37")]
    [InlineData("\"9223372036854775808\"")]
    [InlineData("\"-9223372036854775809\"")]
    [InlineData("\"FOO\"")]
    [InlineData("\"10A20\"")]
    [InlineData("\"\"")]
    [InlineData("\"   -\"")]
    [InlineData("\" +0x\"")]
    public void String_to_int_is_undefined_on_bad_input(string args)
        => Assert.False(Holds("string", $"string.to_int({args}) == 0 or not (string.to_int({args}) == 0)"));

    [Fact]
    public void Hash_over_ranges_and_strings()
    {
        Assert.True(Holds("hash", "hash.md5(0, filesize) == \"900150983cd24fb0d6963f7d28e17f72\" and hash.md5(\"abc\") == hash.md5(0, 3)", "abc"));
        Assert.True(Holds("hash", "hash.sha1(\"abc\") == \"a9993e364706816aba3e25717850c26c9cd0d89d\"", ""));
        Assert.True(Holds("hash", "hash.sha256(0, 100) == \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"", "abc"));
        Assert.True(Holds("hash", "hash.crc32(\"abc\") == 0x352441c2 and hash.checksum32(\"abc\") == 294", ""));
        Assert.False(Holds("hash", "hash.md5(5, 1) == \"\" or not (hash.md5(5, 1) == \"\")", "abc"));
    }
}

public class ModuleElfDotnetTests
{
    [Fact]
    public void Elf_header_sections_symbols_and_dynamic_entries()
    {
        var elf = YaraTestData.Read("elf_with_imports");
        var dump = YaraModuleDump.Lines("elf", elf);
        Assert.Contains(dump, l => l.StartsWith("elf.type = ", StringComparison.Ordinal));
        Assert.True(YaraTestData.Holds("elf", "elf.number_of_sections > 0 and for any s in elf.sections : (s.name == \".text\" and s.type == elf.SHT_PROGBITS)", elf));
        Assert.True(YaraTestData.Holds("elf", "elf.dynsym_entries > 0 and for any s in elf.dynsym : (s.type == elf.STT_FUNC and s.bind == elf.STB_GLOBAL)", elf));
        Assert.True(YaraTestData.Holds("elf", "for any d in elf.dynamic : (d.type == elf.DT_NEEDED)", elf));
        Assert.False(YaraTestData.Holds("elf", "elf.type >= 0 or not (elf.type >= 0)", YaraTestData.Read("tiny")));
    }

    [Fact]
    public void Dotnet_metadata()
    {
        var net = YaraTestData.Read("0ca09bde7602769120fadc4f7a4147347a7a97271370583586c9e587fd396171");
        Assert.True(YaraTestData.Holds("dotnet", """
            dotnet.is_dotnet and dotnet.version == "v2.0.50727" and dotnet.module_name == "hpjsoaputility.Sv.resources.dll" and
            dotnet.assembly.name == "hpjsoaputility.Sv.resources" and dotnet.assembly.culture == "pt" and dotnet.assembly.version.major == 1 and
            dotnet.number_of_streams == 5 and dotnet.streams[0].name == "#~" and dotnet.streams[4].name == "#Blob" and
            dotnet.number_of_guids == 1 and dotnet.guids[0] == "3764d539-e21a-4366-bc7c-b56fa67efbb0" and
            dotnet.number_of_resources == 1 and dotnet.resources[0].offset == 724 and dotnet.resources[0].length == 180 and
            dotnet.assembly_refs[0].name == "mscorlib" and dotnet.assembly_refs[0].version.major == 2
            """, net));
        Assert.True(YaraTestData.Holds("dotnet", "not dotnet.is_dotnet", YaraTestData.Read("tiny")));
        Assert.True(YaraTestData.Holds("dotnet", "dotnet.is_dotnet", YaraTestData.Read("dotnet_misaligned_guid")));
        Assert.False(YaraTestData.Holds("dotnet", "dotnet.version == \"v4.0.30319\"", YaraTestData.Read("bad_dotnet_pe")));
    }
}

public class ModuleSyntaxTests
{
    private static IReadOnlyList<YaraDiagnostic> Diagnostics(string source)
    {
        var c = new YaraCompiler();
        c.AddSource(source, "m.yar");
        return c.Diagnostics;
    }

    [Theory]
    [InlineData("pe.no_such_field == 1", "invalid field name")]
    [InlineData("pe.sections == 1", "not a value")]
    [InlineData("pe.imphash == \"x\"", "needs its arguments")]
    [InlineData("pe.imports(1, 2, 3, 4) == 1", "wrong arguments")]
    [InlineData("pe.number_of_sections[0] == 1", "")]
    public void Wrong_module_references_are_compile_errors(string condition, string message)
    {
        var d = Assert.Single(Diagnostics($"import \"pe\"\nrule a {{ condition: {condition} }}"));
        Assert.True(d.IsError, d.ToString());
        Assert.Contains(message, d.Message);
    }

    [Theory]
    [InlineData("pe", "pe.signatures[0].verified", "pe.signatures[].verified")]
    [InlineData("pe", "pe.is_signed", "pe.is_signed")]
    [InlineData("dotnet", "dotnet.classes[0].name == \"x\"", "dotnet.classes")]
    [InlineData("elf", "elf.telfhash() == \"x\"", "elf.telfhash")]
    [InlineData("magic", "magic.mime_type() == \"text/plain\"", "module 'magic'")]
    [InlineData("macho", "for any s in macho.segments : (true)", "module 'macho'")]
    public void Features_exir_lacks_skip_the_rule_and_name_the_feature(string module, string condition, string feature)
    {
        var d = Assert.Single(Diagnostics($"import \"{module}\"\nrule a {{ condition: {condition} }}"));
        Assert.False(d.IsError);
        Assert.Equal("a", d.Rule);
        Assert.Contains(feature, d.Message);
    }

    [Fact]
    public void Loop_variables_shadow_nothing_outside_their_loop()
    {
        Assert.NotEmpty(Diagnostics("import \"pe\"\nrule a { condition: (for any s in pe.sections : (s.name == \".text\")) and s.name == \"x\" }"));
        Assert.NotEmpty(Diagnostics("import \"pe\"\nrule a { condition: for any k, v in pe.sections : (true) }"));
        Assert.NotEmpty(Diagnostics("import \"pe\"\nrule a { condition: for any k in pe.version_info : (true) }"));
        Assert.Empty(Diagnostics("import \"pe\"\nrule a { condition: for any i in (0..pe.number_of_sections - 1) : (pe.sections[i].name == \".text\") }"));
    }
}
