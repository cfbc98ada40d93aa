using Exir.Case.Store;
using Npgsql;

namespace Exir.Case.Tests;

public class PostgresUrlTests
{
    [Fact]
    public void AFullUrlBecomesAConnectionStringAndADescriptionWithoutThePassword()
    {
        var t = PostgresTarget.Parse("postgresql://ir%40team:p%40ss%3Aw%2Frd@db.example.org:6543/exir%20case?sslmode=verify-full&application_name=exir-ir");
        var b = new NpgsqlConnectionStringBuilder(t.ConnectionString);
        Assert.Equal(("db.example.org", 6543, "exir case", "ir@team", "p@ss:w/rd"), (b.Host, b.Port, b.Database, b.Username, b.Password));
        Assert.Equal(SslMode.VerifyFull, b.SslMode);
        Assert.Equal("exir-ir", b.ApplicationName);
        Assert.Equal("PostgreSQL ir@team@db.example.org:6543/exir case", t.Description);
        Assert.DoesNotContain("p@ss", t.Description);
        Assert.DoesNotContain("p@ss", t.ToString());
        Assert.DoesNotContain("p@ss", $"{t}");
    }

    [Fact]
    public void DefaultsAndIpv6AndTheShortScheme()
    {
        var t = PostgresTarget.Parse("postgres://alice@[::1]/cases");
        Assert.Equal(("::1", 5432, "cases", "alice"), (t.Host, t.Port, t.Database, t.User));
        Assert.Equal("PostgreSQL alice@[::1]:5432/cases", t.Description);
        var bare = PostgresTarget.Parse("postgresql://");
        Assert.Equal(("localhost", 5432, "postgres"), (bare.Host, bare.Port, bare.Database));
        // libpq's rule: without a database the user's name is the database.
        Assert.Equal("bob", PostgresTarget.Parse("postgresql://bob@h").Database);
    }

    [Theory]
    [InlineData("postgresql://h:notaport/db", "not a port")]
    [InlineData("postgresql://h:70000/db", "not a port")]
    [InlineData("postgresql://h/db?sslmode=sometimes", "unknown sslmode")]
    [InlineData("postgresql://h/db?host=evil", "unsupported parameter")]
    [InlineData("postgresql://[::1/db", "unclosed")]
    [InlineData("postgresql://u:%ZZ@h/db", "percent-encoding")]
    public void ABadUrlIsRefusedWithAReason(string url, string reason)
    {
        var e = Assert.Throws<CaseStoreException>(() => PostgresTarget.Parse(url));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void AnUnreachableServerIsACaseStoreErrorWithoutThePassword()
    {
        var e = Assert.Throws<CaseStoreException>(() => CaseStores.Open("postgresql://u:topsecret@127.0.0.1:1/db?connect_timeout=2"));
        Assert.Contains("PostgreSQL u@127.0.0.1:1/db", e.Message);
        Assert.DoesNotContain("topsecret", e.Message);
    }

    [Fact]
    public void AFileCaseMustBeAFileInAnExistingFolder()
    {
        var dir = TestPaths.NewTempDir("exir-case-path");
        Assert.Contains("must be a file", Assert.Throws<CaseStoreException>(() => CaseStores.Open(dir)).Message);
        Assert.Contains("does not exist", Assert.Throws<CaseStoreException>(() => CaseStores.Open(Path.Combine(dir, "no", "such", "case.db"))).Message);
        // Not a database at all: refused with a clear message, and left as it was.
        var junk = Path.Combine(dir, "junk.db");
        File.WriteAllText(junk, "this is not SQLite, just text that happens to be long enough to have a header of sorts");
        var before = File.ReadAllBytes(junk);
        Assert.Throws<CaseStoreException>(() => CaseStores.Open(junk));
        Assert.Equal(before, File.ReadAllBytes(junk));
    }
}
