using System.Security.Cryptography;
using System.Text;

namespace Exir.Yara;

/// <summary>yara's pe module: its declarations, and the object built from a <see cref="PeFile"/> for one scan.</summary>
internal static class PeModule
{
    private const long ImportStandard = 1, ImportDelayed = 2;

    /// <summary>The root object; functions reach the parsed file through it.</summary>
    private sealed class PeObj(PeFile? file) : MObj
    {
        public readonly PeFile? File = file;
    }

    private static PeFile? FileOf(MObj? self) => (self as PeObj)?.File;

    public static readonly MStructT Declaration = Declare();

    private static MStructT Declare()
    {
        var version = new MStructT().Ints("major", "minor");
        var function = new MStructT().Strs("name").Ints("ordinal", "rva");
        var importDetail = new MStructT().Strs("library_name").Ints("number_of_functions").Add("functions", new MArray(function));
        var section = new MStructT().Strs("name", "full_name").Ints("characteristics", "virtual_address", "virtual_size",
            "raw_data_offset", "raw_data_size", "pointer_to_relocations", "pointer_to_line_numbers", "number_of_relocations", "number_of_line_numbers");
        var resource = new MStructT().Ints("rva", "offset", "length", "type", "id", "language").Strs("type_string", "name_string", "language_string");
        var export = new MStructT().Ints("offset", "ordinal", "rva").Strs("name", "forward_name");
        var rich = new MStructT().Ints("offset", "length", "key").Strs("raw_data", "clear_data", "version_data")
            .Fn("version", "i", (s, o, a) => Rich(o, a[0].I, null)).Fn("version", "ii", (s, o, a) => Rich(o, a[0].I, a[1].I))
            .Fn("toolid", "i", (s, o, a) => Rich(o, null, a[0].I)).Fn("toolid", "ii", (s, o, a) => Rich(o, a[1].I, a[0].I));
        var keyValue = new MStructT().Strs("key", "value");

        var t = new MStructT()
            .Ints("is_pe", "machine", "number_of_sections", "timestamp", "pointer_to_symbol_table", "number_of_symbols",
                "size_of_optional_header", "characteristics", "entry_point", "entry_point_raw", "image_base", "number_of_rva_and_sizes",
                "opthdr_magic", "size_of_code", "size_of_initialized_data", "size_of_uninitialized_data", "base_of_code", "base_of_data",
                "section_alignment", "file_alignment", "win32_version_value", "size_of_image", "size_of_headers", "checksum", "subsystem",
                "dll_characteristics", "size_of_stack_reserve", "size_of_stack_commit", "size_of_heap_reserve", "size_of_heap_commit",
                "loader_flags", "number_of_resources", "resource_timestamp", "number_of_imports", "number_of_imported_functions",
                "number_of_delayed_imports", "number_of_delayed_imported_functions", "number_of_exports", "export_timestamp",
                "number_of_version_infos")
            .Strs("dll_name", "pdb_path")
            .Add("linker_version", version).Add("os_version", version).Add("image_version", version)
            .Add("subsystem_version", version).Add("resource_version", version)
            .Add("data_directories", new MArray(new MStructT().Ints("virtual_address", "size")))
            .Add("sections", new MArray(section))
            .Add("overlay", new MStructT().Ints("offset", "size"))
            .Add("rich_signature", rich)
            .Add("version_info", new MDict(MScalar.Str))
            .Add("version_info_list", new MArray(keyValue))
            .Add("resources", new MArray(resource))
            .Add("export_details", new MArray(export))
            .Add("import_details", new MArray(importDetail))
            .Add("delayed_import_details", new MArray(importDetail))
            .Ints("number_of_signatures")
            .Add("signatures", new MArray(Signature()))
            // Signatures are described, not verified: what needs verification is skipped and named.
            .Missing("is_signed")
            .Fn("exports", "s", (s, o, a) => Exported(o, e => string.Equals(e.Name, a[0].S, StringComparison.OrdinalIgnoreCase), index: false))
            .Fn("exports", "i", (s, o, a) => Exported(o, e => e.Ordinal == a[0].I, index: false))
            .Fn("exports", "r", (s, o, a) => Exported(o, e => a[0].Matches(e.Name), index: false))
            .Fn("exports_index", "s", (s, o, a) => Exported(o, e => string.Equals(e.Name, a[0].S, StringComparison.OrdinalIgnoreCase), index: true))
            .Fn("exports_index", "i", (s, o, a) => Exported(o, e => e.Ordinal == a[0].I, index: true))
            .Fn("exports_index", "r", (s, o, a) => Exported(o, e => a[0].Matches(e.Name), index: true))
            .Fn("imports", "ss", (s, o, a) => ImportedBool(o, ImportStandard, a[0].S, f => NameIs(f, a[1].S)))
            .Fn("imports", "si", (s, o, a) => ImportedBool(o, ImportStandard, a[0].S, f => f.Ordinal == a[1].I))
            .Fn("imports", "s", (s, o, a) => ImportCount(o, ImportStandard, d => Same(d, a[0].S), _ => true))
            .Fn("imports", "rr", (s, o, a) => ImportCount(o, ImportStandard, d => a[0].Matches(d), f => a[1].Matches(f.Name)))
            .Fn("imports", "iss", (s, o, a) => ImportedBool(o, a[0].I, a[1].S, f => NameIs(f, a[2].S)))
            .Fn("imports", "isi", (s, o, a) => ImportedBool(o, a[0].I, a[1].S, f => f.Ordinal == a[2].I))
            .Fn("imports", "is", (s, o, a) => ImportCount(o, a[0].I, d => Same(d, a[1].S), _ => true))
            .Fn("imports", "irr", (s, o, a) => ImportCount(o, a[0].I, d => a[1].Matches(d), f => a[2].Matches(f.Name)))
            .Fn("import_rva", "ss", (s, o, a) => ImportRva(o, ImportStandard, a[0].S, f => NameIs(f, a[1].S)))
            .Fn("import_rva", "si", (s, o, a) => ImportRva(o, ImportStandard, a[0].S, f => f.Ordinal == a[1].I))
            .Fn("delayed_import_rva", "ss", (s, o, a) => ImportRva(o, ImportDelayed, a[0].S, f => NameIs(f, a[1].S)))
            .Fn("delayed_import_rva", "si", (s, o, a) => ImportRva(o, ImportDelayed, a[0].S, f => f.Ordinal == a[1].I))
            .Fn("section_index", "s", (s, o, a) => SectionIndex(o, x => x.Name == a[0].S))
            // On a file (not process memory) yara looks the address up among the sections' raw data.
            .Fn("section_index", "i", (s, o, a) => SectionIndex(o, x => a[0].I >= x.Raw && a[0].I < x.Raw + x.RawSize))
            .Fn("language", "i", (s, o, a) => AnyResource(o, r => (r.Language & 0xFF) == a[0].I))
            .Fn("locale", "i", (s, o, a) => AnyResource(o, r => (r.Language & 0xFFFF) == a[0].I))
            .Fn("imphash", "", (s, o, a) => FileOf(o) is { } f ? ImpHash(f) : Value.Undef)
            .Fn("is_dll", "", (s, o, a) => FileOf(o) is { } f ? Value.Bool((f.Characteristics & 0x2000) != 0) : Value.Undef)
            .Fn("is_32bit", "", (s, o, a) => FileOf(o) is { } f ? Value.Bool(f.U16(f.Optional) == 0x10B) : Value.Undef)
            .Fn("is_64bit", "", (s, o, a) => FileOf(o) is { } f ? Value.Bool(f.Is64) : Value.Undef)
            .Fn("rva_to_offset", "i", (s, o, a) => FileOf(o) is { } f && f.Offset(a[0].I) is >= 0 and var off ? Value.Int(off) : Value.Undef)
            .Fn("calculate_checksum", "", (s, o, a) => FileOf(o) is { } f ? Value.Int(f.CalculateChecksum()) : Value.Undef);
        return t.WithConstants("pe");
    }

    private static MStructT Signature()
    {
        var t = new MStructT();
        foreach (var (name, type) in Authenticode.CertificateType.Members) t.Add(name, type);
        return t.Strs("digest_alg", "digest", "file_digest").Ints("number_of_certificates")
            .Add("certificates", new MArray(Authenticode.CertificateType))
            .Missing("verified", "signer_info", "countersignatures", "number_of_countersignatures")
            .Fn("valid_on", "i", (s, o, a) => o?.Int("not_before") is { } from && o.Int("not_after") is { } to
                ? Value.Bool(a[0].I >= from && a[0].I <= to) : Value.Undef);
    }

    private static List<object> Signatures(PeFile f)
        => Authenticode.Read(f).Select(sig =>
        {
            var o = sig.Signer is null ? new MObj() : Authenticode.CertificateObject(sig.Signer);
            return (object)o.Set("digest_alg", sig.DigestAlg).Set("digest", sig.Digest).Set("file_digest", sig.FileDigest)
                .Set("number_of_certificates", (long)sig.Certificates.Count)
                .Set("certificates", sig.Certificates.Select(c => (object)Authenticode.CertificateObject(c)).ToList());
        }).ToList();

    public static MObj? Build(Bytes data, int length)
    {
        var f = PeFile.Open(data, length);
        if (f is null) return new PeObj(null).Set("is_pe", 0L);
        f.Parse();
        var o = new PeObj(f);
        int h = f.Header, opt = f.Optional;
        o.Set("is_pe", 1L).Set("machine", f.U16(h + 4)).Set("number_of_sections", f.NumberOfSections).Set("timestamp", f.U32(h + 8))
            .Set("pointer_to_symbol_table", f.U32(h + 12)).Set("number_of_symbols", f.U32(h + 16))
            .Set("size_of_optional_header", f.OptionalHeaderSize).Set("characteristics", f.Characteristics);
        // Read even when SizeOfOptionalHeader is smaller, as yara does.
        if (f.Length >= opt + 72) Optional(o, f);
        o.Set("sections", f.Sections.Select(x => (object)new MObj().Set("name", x.Name).Set("full_name", x.FullName)
            .Set("characteristics", x.Characteristics).Set("virtual_address", x.Va).Set("virtual_size", x.VSize)
            .Set("raw_data_offset", x.Raw).Set("raw_data_size", x.RawSize).Set("pointer_to_relocations", x.Relocs)
            .Set("pointer_to_line_numbers", x.LineNums).Set("number_of_relocations", x.NRelocs).Set("number_of_line_numbers", x.NLineNums)).ToList());
        long lastEnd = f.Sections.Where(x => x.RawSize > 0).Select(x => x.Raw + x.RawSize).DefaultIfEmpty(0).Max();
        o.Set("overlay", lastEnd > 0 && f.Length > lastEnd
            ? new MObj().Set("offset", lastEnd).Set("size", f.Length - lastEnd) : new MObj().Set("offset", 0L).Set("size", 0L));
        SetImports(o, f.Imports, "import_details", "number_of_imports", "number_of_imported_functions");
        SetImports(o, f.DelayedImports, "delayed_import_details", "number_of_delayed_imports", "number_of_delayed_imported_functions");
        SetExports(o, f);
        SetResources(o, f);
        if (f.RichHeader() is { } rich) o.Set("rich_signature", RichObject(f, rich));
        o.Set("pdb_path", f.PdbPath());
        // Without a security directory slot (NumberOfRvaAndSizes below 5) yara leaves the signatures undefined.
        // Parsed (and the file digested) only when a rule asks.
        if (f.Directory(4) is not null)
        {
            var signatures = new Lazy<List<object>>(() => Signatures(f));
            o.SetLazy("signatures", () => signatures.Value).SetLazy("number_of_signatures", () => Value.Int(signatures.Value.Count));
        }
        return o;
    }

    private static void Optional(PeObj o, PeFile f)
    {
        int opt = f.Optional;
        bool pe64 = f.Is64;
        long ep = f.U32(opt + 16);
        o.Set("opthdr_magic", f.U16(opt)).Set("entry_point_raw", ep).Set("entry_point", f.Offset(ep)).Set("image_base", f.ImageBase)
            .Set("linker_version", Version(f.U8(opt + 2), f.U8(opt + 3)))
            .Set("size_of_code", f.U32(opt + 4)).Set("size_of_initialized_data", f.U32(opt + 8)).Set("size_of_uninitialized_data", f.U32(opt + 12))
            .Set("base_of_code", f.U32(opt + 20)).Set("section_alignment", f.U32(opt + 32)).Set("file_alignment", f.FileAlignment)
            .Set("os_version", Version(f.U16(opt + 40), f.U16(opt + 42))).Set("image_version", Version(f.U16(opt + 44), f.U16(opt + 46)))
            .Set("subsystem_version", Version(f.U16(opt + 48), f.U16(opt + 50))).Set("win32_version_value", f.U32(opt + 52))
            .Set("size_of_image", f.U32(opt + 56)).Set("size_of_headers", f.U32(opt + 60)).Set("checksum", f.U32(opt + 64))
            .Set("subsystem", f.U16(opt + 68)).Set("dll_characteristics", f.U16(opt + 70));
        if (!pe64) o.Set("base_of_data", f.U32(opt + 24));
        int w = pe64 ? 8 : 4;
        long Word(int at) => pe64 ? (long)f.U64(at) : f.U32(at);
        o.Set("size_of_stack_reserve", Word(opt + 72)).Set("size_of_stack_commit", Word(opt + 72 + w))
            .Set("size_of_heap_reserve", Word(opt + 72 + 2 * w)).Set("size_of_heap_commit", Word(opt + 72 + 3 * w))
            .Set("loader_flags", f.U32(opt + 72 + 4 * w)).Set("number_of_rva_and_sizes", f.NumberOfRvaAndSizes);
        var dirs = new List<object>();
        for (int i = 0; i < 16 && f.Directory(i) is { } d; i++) dirs.Add(new MObj().Set("virtual_address", d.Va).Set("size", d.Size));
        o.Set("data_directories", dirs);
    }

    private static MObj Version(long major, long minor) => new MObj().Set("major", major).Set("minor", minor);

    private static void SetImports(PeObj o, List<PeFile.ImportedDll> dlls, string details, string count, string functions)
    {
        o.Set(count, (long)dlls.Count).Set(functions, (long)dlls.Sum(d => d.Functions.Count));
        o.Set(details, dlls.Select(d => (object)new MObj().Set("library_name", d.Name).Set("number_of_functions", (long)d.Functions.Count)
            .Set("functions", d.Functions.Select(fn => (object)new MObj().Set("name", fn.Name)
                .Set("ordinal", fn.Ordinal >= 0 ? fn.Ordinal : null).Set("rva", fn.Rva)).ToList())).ToList());
    }

    private static void SetExports(PeObj o, PeFile f)
    {
        o.Set("number_of_exports", 0L);
        if (f.ExportTimestamp < 0) return;
        o.Set("export_timestamp", f.ExportTimestamp).Set("dll_name", f.DllName).Set("number_of_exports", (long)f.Exports.Count);
        o.Set("export_details", f.Exports.Select(e => (object)new MObj().Set("ordinal", e.Ordinal).Set("name", e.Name)
            .Set("forward_name", e.Forward).Set("offset", e.Offset >= 0 ? e.Offset : null).Set("rva", e.Rva)).ToList());
    }

    private static void SetResources(PeObj o, PeFile f)
    {
        if (f.ResourceTimestamp >= 0)
            o.Set("resource_timestamp", f.ResourceTimestamp).Set("resource_version", Version(f.ResourceMajor, f.ResourceMinor));
        o.Set("number_of_resources", (long)f.Resources.Count);
        o.Set("resources", f.Resources.Select(r => (object)new MObj().Set("rva", r.Rva).Set("offset", r.Offset >= 0 ? r.Offset : null)
            .Set("length", r.Length).Set("type", r.Type >= 0 ? r.Type : null).Set("id", r.Id >= 0 ? r.Id : null)
            .Set("language", r.Language >= 0 ? r.Language : null).Set("type_string", r.TypeString)
            .Set("name_string", r.NameString).Set("language_string", r.LanguageString)).ToList());
        var dict = new MDictObj();
        foreach (var (k, v) in f.VersionInfo) dict.Set(k, Value.Str(v));
        o.Set("version_info", dict).Set("number_of_version_infos", (long)f.VersionInfo.Count);
        o.Set("version_info_list", f.VersionInfo.Select(kv => (object)new MObj().Set("key", kv.Key).Set("value", kv.Value)).ToList());
    }

    private static MObj RichObject(PeFile f, (long Offset, long Length, long Key) rich)
    {
        var raw = f.Data.Slice((int)rich.Offset, (int)rich.Length).ToArray();
        var clear = (byte[])raw.Clone();
        for (int i = 0; i + 4 <= clear.Length; i += 4)
            for (int k = 0; k < 4; k++) clear[i + k] ^= (byte)(rich.Key >> (8 * k));
        // The entries (tool id and version, count) follow "DanS" and three zero words.
        var versions = new List<byte>();
        for (int i = 16; i + 8 <= clear.Length; i += 8) versions.AddRange(clear.AsSpan(i, 4).ToArray());
        return new RichObj(clear).Set("offset", rich.Offset).Set("length", rich.Length).Set("key", rich.Key)
            .Set("raw_data", Encoding.Latin1.GetString(raw)).Set("clear_data", Encoding.Latin1.GetString(clear))
            .Set("version_data", Encoding.Latin1.GetString(versions.ToArray()));
    }

    private sealed class RichObj(byte[] clear) : MObj
    {
        public readonly byte[] Clear = clear;
    }

    // Sum of the counts of the Rich entries with this version and/or tool id.
    private static Value Rich(MObj? self, long? version, long? toolId)
    {
        if (self is not RichObj r) return Value.Undef;
        long total = 0;
        for (int i = 16; i + 8 <= r.Clear.Length; i += 8)
        {
            long id = BitConverter.ToUInt32(r.Clear, i), count = BitConverter.ToUInt32(r.Clear, i + 4);
            if ((version is null || (id & 0xFFFF) == version) && (toolId is null || id >> 16 == toolId)) total += count;
        }
        return Value.Int(total);
    }

    private static bool Same(string? a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
    private static bool NameIs(PeFile.Function f, string name) => Same(f.Name, name);

    private static IEnumerable<PeFile.ImportedDll> Dlls(PeFile f, long flags)
        => ((flags & ImportStandard) != 0 ? f.Imports : []).Concat((flags & ImportDelayed) != 0 ? f.DelayedImports : []);

    private static Value ImportedBool(MObj? self, long flags, string dll, Func<PeFile.Function, bool> match)
        => FileOf(self) is { } f ? Value.Bool(Dlls(f, flags).Any(d => Same(d.Name, dll) && d.Functions.Any(match))) : Value.Undef;

    private static Value ImportCount(MObj? self, long flags, Func<string, bool> dll, Func<PeFile.Function, bool> match)
        => FileOf(self) is { } f ? Value.Int(Dlls(f, flags).Where(d => dll(d.Name)).Sum(d => d.Functions.Count(match))) : Value.Undef;

    private static Value ImportRva(MObj? self, long flags, string dll, Func<PeFile.Function, bool> match)
    {
        if (FileOf(self) is not { } f) return Value.Undef;
        foreach (var d in Dlls(f, flags))
            if (Same(d.Name, dll) && d.Functions.FirstOrDefault(match) is { } fn) return Value.Int(fn.Rva);
        return Value.Undef;
    }

    private static Value Exported(MObj? self, Func<PeFile.Export, bool> match, bool index)
    {
        if (FileOf(self) is not { } f) return Value.Undef;
        int i = f.Exports.FindIndex(e => match(e));
        return index ? i >= 0 ? Value.Int(i) : Value.Undef : Value.Bool(i >= 0);
    }

    private static Value SectionIndex(MObj? self, Predicate<PeFile.Section> match)
        => FileOf(self) is { } f && f.Sections.FindIndex(match) is >= 0 and var i ? Value.Int(i) : Value.Undef;

    private static Value AnyResource(MObj? self, Func<PeFile.Resource, bool> match)
        => FileOf(self) is { } f ? Value.Bool(f.Resources.Any(match)) : Value.Undef;

    /// <summary>pefile's import hash: md5 of "dll.function" pairs, lower case, extension .dll/.ocx/.sys dropped.</summary>
    private static Value ImpHash(PeFile f)
    {
        var sb = new StringBuilder();
        foreach (var d in f.Imports)
        {
            var lib = d.Name.ToLowerInvariant();
            int dot = lib.LastIndexOf('.');
            if (dot >= 0 && lib[(dot + 1)..] is "dll" or "ocx" or "sys") lib = lib[..dot];
            foreach (var fn in d.Functions)
            {
                if (sb.Length > 0) sb.Append(',');
                sb.Append(lib).Append('.').Append((fn.Name ?? "").ToLowerInvariant());
            }
        }
        return HashModule.Hex(MD5.HashData(Encoding.Latin1.GetBytes(sb.ToString())));
    }
}
