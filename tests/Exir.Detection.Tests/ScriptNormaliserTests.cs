using System.Text;
using Exir.Detection.Files;

namespace Exir.Detection.Tests;

/// <summary>The normalisation pass the built-in content rules also see: each obfuscation undone, offsets kept, never a throw.</summary>
public sealed class ScriptNormaliserTests
{
    private static string Norm(string s) =>
        ScriptNormaliser.Normalise(Encoding.UTF8.GetBytes(s)) is { } n ? Encoding.UTF8.GetString(n.Text) : s;

    [Theory]
    [InlineData("<% eval(\"Req\" + \"uest\") %>", "<% eval(\"Request\") %>")]
    [InlineData("<%\nx = \"WScr\" & \"ipt.Sh\" & \"ell\"\n%>", "<%\nx = \"WScript.Shell\"\n%>")]
    [InlineData("<% var s = String.Concat(\"cm\", \"d.exe\"); %>", "<% var s = \"cmd.exe\"; %>")]
    [InlineData("<%\nDim a\na = StrReverse(\"tseuqer\") & \"(\"\n%>", "<%\nDim a\na = \"request(\"\n%>")]
    [InlineData("<% var s = \"c\" + /* pad */ \"md\"; %>", "<% var s = \"cmd\"; %>")]
    public void Adjacent_literals_are_joined(string raw, string expected) => Assert.Equal(expected, Norm(raw));

    [Theory]
    [InlineData("<%\nSet o = CreateObject(\"WScr\"&Chr(105)&\"pt.Shell\")\n%>", "<%\nSet o = CreateObject(\"WScript.Shell\")\n%>")]
    [InlineData("<%\nx = ChrW(&H65) & chr(&O166) & Chr(&0141) & CHR(100+8)\nEnd If\n%>", "<%\nx = \"eval\"\nEnd If\n%>")]
    [InlineData("<% var f = String.fromCharCode(101, 118, 97, 108); %>", "<% var f = \"eval\"; %>")]
    [InlineData("<% string p = (char)99 + \"md\"; %>", "<% string p = \"cmd\"; %>")]
    [InlineData("<% string p = Convert.ToChar(0x63) + \"md\"; %>", "<% string p = \"cmd\"; %>")]
    [InlineData("<% var x = \"\\x63\\u006dd\\t\"; %>", "<% var x = \"cmd\t\"; %>")]
    [InlineData("<% \\u0065val(Request.Item[\"z\"]); %>", "<% eval(Request.Item[\"z\"]); %>")]
    public void Character_codes_and_escapes_are_decoded(string raw, string expected) => Assert.Equal(expected, Norm(raw));

    [Fact]
    public void Comments_go_and_whitespace_collapses_keeping_line_ends()
    {
        Assert.Equal("<% Process.Start(\"cmd\"); \n%>", Norm("<%   Process.Start(\"cmd\");   // run it\r\n\r\n%>"));
        Assert.Equal("<%\nDim y\nx = 1 \nExecute x \n%>", Norm("<%\nDim y\nx = 1 ' set x\nExecute x ' go\n%>"));
        Assert.Equal("<%\nDim y\n\n%>", Norm("<%\nDim y\nRem nothing\n%>"));
    }

    [Fact]
    public void Urls_and_markup_apostrophes_are_not_comments()
    {
        const string page = "<a href=\"http://example.org/x\">it's</a>\n<% Dim a\nIf a Then b\nEnd If %>";
        Assert.Contains("http://example.org/x", Norm(page));
        Assert.Contains("it's", Norm(page));
    }

    [Fact]
    public void A_vb_newline_ends_the_statement_so_literals_on_two_lines_stay_apart()
    {
        Assert.Equal("<%\nDim a\na = \"x\"\nb = \"y\"\nEnd If\n%>", Norm("<%\nDim a\na = \"x\"\nb = \"y\"\nEnd If\n%>"));
        Assert.Equal("<%\nDim a\na = \"xy\"\nEnd If\n%>", Norm("<%\nDim a\na = \"x\" & _\n  \"y\"\nEnd If\n%>"));
    }

    [Fact]
    public void A_variable_read_once_from_the_request_is_inlined_where_it_is_used()
    {
        Assert.Equal("<%\nDim p\np = Request(\"path\")\nSet f = fso.CreateTextFile(Request(\"path\"), True)\nEnd If\n%>",
            Norm("<%\nDim p\np = Request(\"path\")\nSet f = fso.CreateTextFile(p, True)\nEnd If\n%>"));
        Assert.Equal("<% string c = Request[\"c\"]; var k = new SqlConnection(Request[\"c\"]); %>",
            Norm("<% string c = Request[\"c\"]; var k = new SqlConnection(c); %>"));
        // a literal that holds the variable's name is text, not a use
        Assert.Equal("<%\nDim path\npath = Request(\"path\")\nx = Request.Form(\"path\") & Request(\"path\")\nEnd If\n%>",
            Norm("<%\nDim path\npath = Request(\"path\")\nx = Request.Form(\"path\") & path\nEnd If\n%>"));
        // assigned twice: not one value, left alone
        Assert.Equal("<%\nDim p\np = Request(\"a\")\np = \"x\"\nWrite p\nEnd If\n%>", Norm("<%\nDim p\np = Request(\"a\")\np = \"x\"\nWrite p\nEnd If\n%>"));
    }

    [Fact]
    public void Offsets_point_back_at_the_raw_bytes()
    {
        var raw = Encoding.UTF8.GetBytes("<% var s = \"ev\" + \"al\"; %>");
        var n = ScriptNormaliser.Normalise(raw)!;
        var text = Encoding.UTF8.GetString(n.Text);
        Assert.Equal(n.Text.Length, n.RawOffsets.Length);
        // "a" of "al" comes from the second literal
        int a = text.IndexOf("eval", StringComparison.Ordinal) + 2;
        Assert.Equal((byte)'a', raw[n.RawOffsets[a]]);
        Assert.Equal(Encoding.UTF8.GetString(raw).IndexOf("al", StringComparison.Ordinal), n.RawOffsets[a]);
        for (int i = 1; i < n.RawOffsets.Length; i++) Assert.True(n.RawOffsets[i] >= 0 && n.RawOffsets[i] < raw.Length);
    }

    [Fact]
    public void Unchanged_or_oversized_input_yields_null()
    {
        Assert.Null(ScriptNormaliser.Normalise("<% x(1); %>"u8));
        Assert.Null(ScriptNormaliser.Normalise(new byte[ScriptNormaliser.MaxInputBytes + 1]));
    }

    [Fact]
    public void Unterminated_and_malformed_constructs_are_copied_not_thrown()
    {
        foreach (var s in new[] { "<% \"abc", "<% Chr(", "<% Chr(99999999999) & \"a\"", "<% /* open", "<% String.Concat(\"a\", x)", "<% \"a\" +", "\\u12", "\"\\x", "(char)" })
        {
            var n = ScriptNormaliser.Normalise(Encoding.UTF8.GetBytes(s));
            if (n is not null) Assert.Equal(n.Text.Length, n.RawOffsets.Length);
        }
    }

    [Fact]
    public void Random_bytes_never_throw_and_offsets_stay_in_range()
    {
        var rng = new Random(13);
        var alphabet = Encoding.ASCII.GetBytes("\"'&+()\\xu0123456789abcdefChrW.Concat,_ \n\r\t<%>/*@");
        for (int round = 0; round < 400; round++)
        {
            var buf = new byte[rng.Next(1, 400)];
            for (int i = 0; i < buf.Length; i++) buf[i] = rng.Next(4) == 0 ? (byte)rng.Next(256) : alphabet[rng.Next(alphabet.Length)];
            var n = ScriptNormaliser.Normalise(buf);
            if (n is null) continue;
            Assert.Equal(n.Text.Length, n.RawOffsets.Length);
            Assert.All(n.RawOffsets, o => Assert.InRange(o, 0, buf.Length - 1));
        }
    }

    [Fact]
    public void Time_is_linear_in_the_input()
    {
        // A page of nothing but joins and Chr() calls, 4 MiB: one pass, no quadratic re-scan.
        var sb = new StringBuilder("<%\nDim x\nx = \"a\"");
        while (sb.Length < ScriptNormaliser.MaxInputBytes - 64) sb.Append(" & Chr(97) & \"b\"");
        sb.Append("\nEnd If\n%>");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var n = ScriptNormaliser.Normalise(Encoding.ASCII.GetBytes(sb.ToString()));
        Assert.NotNull(n);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }
}
