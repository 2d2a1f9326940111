// Oracle for tests/versions_maven.rs: reads "A<TAB>B" lines and prints the
// sign of Maven's ComparableVersion(A).compareTo(ComparableVersion(B)).
// Run as a single-file program: java -cp maven-artifact.jar MavenCompare.java
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenCompare {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            String[] pair = line.split("\t", -1);
            int c = new ComparableVersion(pair[0]).compareTo(new ComparableVersion(pair[1]));
            out.append(Integer.signum(c)).append('\n');
        }
        System.out.print(out);
    }
}
