import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node in this JVM, for tests and `pillowtop dev --search`: single-node discovery on
 * loopback, the given ports, data under the given directory. Node's constructor that takes classpath
 * plugins is protected, hence the subclass. Stops cleanly on SIGTERM.
 *
 * Usage: java -cp classes:lib/* PillowtopOpenSearch HOME_DIR HTTP_PORT TRANSPORT_PORT
 */
public class PillowtopOpenSearch extends Node {
  private static final List<Class<? extends Plugin>> PLUGINS = List.of(
      Netty4Plugin.class,
      CommonAnalysisPlugin.class,
      MapperExtrasPlugin.class,
      ReindexPlugin.class);

  private PillowtopOpenSearch(Environment environment, Collection<Class<? extends Plugin>> plugins) {
    super(environment, plugins, true);
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: PillowtopOpenSearch HOME_DIR HTTP_PORT TRANSPORT_PORT");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    Files.createDirectories(home.resolve("config"));
    Settings settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("cluster.name", "pillowtop")
        .put("node.name", "pillowtop-0")
        .put("discovery.type", "single-node")
        .put("network.host", "127.0.0.1")
        .put("http.port", args[1])
        .put("transport.port", args[2])
        // a test machine's nearly full disk must not turn indices read-only
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .build();
    LogConfigurator.configureWithoutConfig(settings);
    Environment environment = InternalSettingsPreparer.prepareEnvironment(
        settings, Collections.emptyMap(), home.resolve("config"), () -> "pillowtop-0");
    Node node = new PillowtopOpenSearch(environment, PLUGINS);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
      stopped.countDown();
    }));
    node.start();
    System.out.println("pillowtop-opensearch started http=" + args[1] + " transport=" + args[2]);
    stopped.await();
  }
}
