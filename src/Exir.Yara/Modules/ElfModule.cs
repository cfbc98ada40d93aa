namespace Exir.Yara;

/// <summary>yara's elf module: header, sections, segments, dynamic entries and symbol tables (see <see cref="ElfFile"/>).</summary>
internal static class ElfModule
{
    public static readonly MStructT Declaration = Declare();

    private static MStructT Declare()
    {
        var symbol = new MStructT().Strs("name").Ints("value", "size", "type", "bind", "shndx", "visibility");
        return new MStructT()
            .Ints("type", "machine", "entry_point", "number_of_sections", "sh_offset", "sh_entry_size", "number_of_segments",
                "ph_offset", "ph_entry_size", "dynamic_section_entries", "symtab_entries", "dynsym_entries")
            .Add("sections", new MArray(new MStructT().Ints("type", "flags", "address", "size", "offset").Strs("name")))
            .Add("segments", new MArray(new MStructT().Ints("type", "flags", "offset", "virtual_address", "physical_address",
                "file_size", "memory_size", "alignment")))
            .Add("dynamic", new MArray(new MStructT().Ints("type", "val")))
            .Add("symtab", new MArray(symbol))
            .Add("dynsym", new MArray(symbol))
            .Missing("telfhash", "import_md5")
            .WithConstants("elf");
    }

    public static MObj? Build(Bytes data, int length) => ElfFile.Parse(data, length);
}
