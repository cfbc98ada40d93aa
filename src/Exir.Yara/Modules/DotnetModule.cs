namespace Exir.Yara;

/// <summary>
/// yara's dotnet module: metadata version, streams, GUIDs, user strings, module name, assembly, assembly
/// references, module references and manifest resources. Type-level data (classes, methods, constants,
/// typelib, field offsets) is not computed: rules using it are skipped and named.
/// </summary>
internal static class DotnetModule
{
    private const int Module = 0x00, ModuleRef = 0x1A, Assembly = 0x20, AssemblyRef = 0x23, ManifestResource = 0x28;

    public static readonly MStructT Declaration = Declare();

    private static MStructT Declare()
    {
        var version = new MStructT().Ints("major", "minor", "build_number", "revision_number");
        return new MStructT()
            .Ints("is_dotnet", "number_of_streams", "number_of_guids", "number_of_user_strings", "number_of_resources",
                "number_of_assembly_refs", "number_of_modulerefs")
            .Strs("version", "module_name")
            .Add("streams", new MArray(new MStructT().Strs("name").Ints("offset", "size")))
            .Add("guids", new MArray(MScalar.Str))
            .Add("user_strings", new MArray(MScalar.Str))
            .Add("modulerefs", new MArray(MScalar.Str))
            .Add("resources", new MArray(new MStructT().Ints("offset", "length").Strs("name")))
            .Add("assembly", new MStructT().Strs("name", "culture").Add("version", version))
            .Add("assembly_refs", new MArray(new MStructT().Strs("name", "public_key_or_token").Add("version", version)))
            .Missing("typelib", "constants", "number_of_constants", "field_offsets", "number_of_field_offsets",
                "classes", "number_of_classes");
    }

    public static MObj? Build(Bytes data, int length)
    {
        var pe = PeFile.Open(data, length);
        if (pe is null) return null;
        pe.Parse();
        var o = new MObj().Set("is_dotnet", 0L);
        if (pe.Directory(14) is not { Va: > 0 } cli) return o;
        long header = pe.Offset(cli.Va);
        if (header < 0) return o;
        // Metadata that claims to run past the end of the file is not parsed (yara: not .NET).
        long root = pe.Offset(pe.U32(header + 8)), size = pe.U32(header + 12);
        if (root < 0 || size < 0 || root + size > length) return o;
        var md = DotnetMetadata.Open(data, length, root);
        if (md is null) return o;
        o.Set("is_dotnet", 1L).Set("version", md.Version);
        o.Set("streams", md.Streams.Select(x => (object)new MObj().Set("name", x.Name).Set("offset", x.Offset).Set("size", x.Size)).ToList())
            .Set("number_of_streams", (long)md.Streams.Count);
        var guids = md.Guids();
        o.Set("guids", guids.Select(g => (object)Value.Str(g)).ToList()).Set("number_of_guids", (long)guids.Count);
        // yara counts user strings only when the #US heap exists.
        if (md.Stream("#US") is not null)
        {
            var us = md.UserStrings();
            o.Set("user_strings", us.Select(u => (object)Value.Str(u)).ToList()).Set("number_of_user_strings", (long)us.Count);
        }
        if (md.Rows(Module) > 0) o.Set("module_name", md.String(md.Cell(Module, 0, 1)));
        if (md.Rows(Assembly) > 0)
            o.Set("assembly", new MObj().Set("name", md.String(md.Cell(Assembly, 0, 7))).Set("culture", NonEmpty(md.String(md.Cell(Assembly, 0, 8))))
                .Set("version", Version(md, Assembly, 0, 1)));
        var refs = new List<object>();
        for (long r = 0; r < Math.Min(md.Rows(AssemblyRef), 65536); r++)
        {
            var token = md.Blob(md.Cell(AssemblyRef, r, 5));
            refs.Add(new MObj().Set("name", md.String(md.Cell(AssemblyRef, r, 6))).Set("version", Version(md, AssemblyRef, r, 0))
                .Set("public_key_or_token", token is { Length: > 0 } ? System.Text.Encoding.Latin1.GetString(token) : null));
        }
        if (refs.Count > 0) o.Set("assembly_refs", refs).Set("number_of_assembly_refs", (long)refs.Count);
        var modules = new List<object>();
        for (long r = 0; r < Math.Min(md.Rows(ModuleRef), 65536); r++)
            if (md.String(md.Cell(ModuleRef, r, 0)) is { } name) modules.Add(Value.Str(name));
        if (modules.Count > 0) o.Set("modulerefs", modules).Set("number_of_modulerefs", (long)modules.Count);
        var resources = Resources(pe, md, header);
        if (resources.Count > 0) o.Set("resources", resources).Set("number_of_resources", (long)resources.Count);
        return o;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static MObj Version(DotnetMetadata md, int table, long row, int first)
        => new MObj().Set("major", md.Cell(table, row, first)).Set("minor", md.Cell(table, row, first + 1))
            .Set("build_number", md.Cell(table, row, first + 2)).Set("revision_number", md.Cell(table, row, first + 3));

    // Resources embedded in this file (implementation 0): a 4-byte length, then the data, at the CLI resources RVA plus the row's offset.
    private static List<object> Resources(PeFile pe, DotnetMetadata md, long header)
    {
        var list = new List<object>();
        long baseOffset = pe.Offset(pe.U32(header + 24));
        for (long r = 0; r < Math.Min(md.Rows(ManifestResource), 65536) && baseOffset >= 0; r++)
        {
            if (md.Cell(ManifestResource, r, 3) != 0) continue;
            long at = baseOffset + md.Cell(ManifestResource, r, 0);
            long length = md.FileU32(at);
            if (at + 4 + length > pe.Length) continue;
            list.Add(new MObj().Set("offset", at + 4).Set("length", length).Set("name", md.String(md.Cell(ManifestResource, r, 2))));
        }
        return list;
    }
}
