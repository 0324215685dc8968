// pgJDBC (what DBeaver and Metabase use) against darkroom's Postgres endpoint,
// for crates/cli/tests/it/pgwire.rs. Run as a single-file program:
//
//   java -cp /usr/share/java/postgresql.jar Jdbc.java MODE HOST PORT USER PASSWORD < statements
//
// One statement per line on stdin. MODE `queries` prints each answer as JSON
// ({"columns": [...], "rows": [[...]]}, one per line), through prepared
// statements run past the driver's server-side prepare threshold, after the
// metadata calls a BI tool makes at connect; MODE `refused` prints each
// statement's SQLSTATE, or "ok"; MODE `login` prints "ok" or the login's SQLSTATE.

import java.sql.*;
import java.io.*;
import java.util.*;

public class Jdbc {
    static String json(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    static String cell(ResultSet rs, int i, int type) throws SQLException {
        Object value = rs.getObject(i);
        if (value == null) return "null";
        switch (type) {
            case Types.TINYINT: case Types.SMALLINT: case Types.INTEGER: case Types.BIGINT:
            case Types.REAL: case Types.FLOAT: case Types.DOUBLE: case Types.NUMERIC: case Types.DECIMAL:
                return String.valueOf(rs.getDouble(i));
            case Types.BOOLEAN: case Types.BIT:
                return String.valueOf(rs.getBoolean(i));
            case Types.DATE:
                return json(rs.getDate(i).toLocalDate().toString());
            default:
                return json(value.toString());
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String url = "jdbc:postgresql://" + args[1] + ":" + args[2] + "/darkroom?prepareThreshold=1";
        List<String> statements = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) if (!line.isBlank()) statements.add(line);
        if (mode.equals("login")) {
            try (Connection conn = DriverManager.getConnection(url, args[3], args[4])) {
                System.out.println("ok");
            } catch (SQLException e) {
                System.out.println(e.getSQLState());
            }
            return;
        }
        try (Connection conn = DriverManager.getConnection(url, args[3], args[4])) {
            if (mode.equals("queries")) {
                DatabaseMetaData meta = conn.getMetaData();
                try (ResultSet tables = meta.getTables(null, null, "%", new String[] {"TABLE"})) {
                    int n = 0;
                    while (tables.next()) n++;
                    if (n == 0) throw new IllegalStateException("getTables found no table");
                }
                try (ResultSet columns = meta.getColumns(null, null, "daily_metrics", "%")) {
                    if (!columns.next()) throw new IllegalStateException("getColumns found no column of daily_metrics");
                }
                for (String sql : statements) {
                    String last = null;
                    // Twice: the second run uses the server-side prepared statement.
                    for (int round = 0; round < 2; round++) {
                        try (PreparedStatement st = conn.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
                            ResultSetMetaData md = rs.getMetaData();
                            StringBuilder out = new StringBuilder("{\"columns\": [");
                            for (int i = 1; i <= md.getColumnCount(); i++) {
                                if (i > 1) out.append(", ");
                                out.append(json(md.getColumnLabel(i)));
                            }
                            out.append("], \"rows\": [");
                            boolean first = true;
                            while (rs.next()) {
                                out.append(first ? "[" : ", [");
                                first = false;
                                for (int i = 1; i <= md.getColumnCount(); i++) {
                                    if (i > 1) out.append(", ");
                                    out.append(cell(rs, i, md.getColumnType(i)));
                                }
                                out.append("]");
                            }
                            last = out.append("]}").toString();
                        }
                    }
                    System.out.println(last);
                }
            } else if (mode.equals("refused")) {
                for (String sql : statements) {
                    try (PreparedStatement st = conn.prepareStatement(sql)) {
                        st.execute();
                        System.out.println("ok");
                    } catch (SQLException e) {
                        System.out.println(e.getSQLState());
                    }
                }
            } else {
                throw new IllegalArgumentException("unknown mode " + mode);
            }
        }
    }
}
