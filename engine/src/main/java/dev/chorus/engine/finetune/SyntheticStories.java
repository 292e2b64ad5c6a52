package dev.chorus.engine.finetune;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * In-domain story data for fine-tuning demos, tests and benchmarks: a small grammar per domain
 * (who, where, what goes wrong, how it ends) with enough slots that held-out stories are new
 * combinations, not copies. Written in TinyStories' simple English so small models can learn it.
 */
public final class SyntheticStories {
    /** One domain's word lists; every story draws one item from each. */
    private record Domain(List<String> roles, List<String> places, List<String> things, List<String> activities, List<String> problems,
            List<String> fixes, List<String> endings) {
    }

    private static final List<String> NAMES = List.of("Tom", "Lily", "Max", "Mia", "Sam", "Anna", "Ben", "Lucy", "Jack", "Sara",
            "Tim", "Emma", "Leo", "Zoe", "Dan", "Ella");
    private static final List<String> FEELINGS = List.of("happy", "brave", "kind", "curious", "little", "clever", "strong", "friendly");

    private static final Map<String, Domain> DOMAINS = Map.of(
            "pirates", new Domain(
                    List.of("pirate", "sailor", "captain", "deckhand"),
                    List.of("on a big ship", "on a sunny island", "near the blue sea", "in a secret cave"),
                    List.of("a treasure map", "a gold coin", "a shiny chest", "an old compass", "a red flag"),
                    List.of("sailed the sea every day", "looked for treasure", "sang songs with the crew", "climbed the tall mast"),
                    List.of("a big storm came", "the map flew away in the wind", "the ship got stuck on the sand", "a parrot took the coin"),
                    List.of("the crew pulled the ropes together", "a friendly fish showed the way", "they dug in the sand with a shovel",
                            "the captain gave the parrot a cracker"),
                    List.of("They found the treasure and shared it with everyone.", "The pirates danced on the deck all night.",
                            "From that day on, the crew was the happiest on the sea.")),
            "space", new Domain(
                    List.of("astronaut", "space pilot", "star explorer", "robot helper"),
                    List.of("in a silver rocket", "on the red planet", "near the big moon", "at the space station"),
                    List.of("a glowing star", "a space helmet", "a tiny robot", "a moon rock", "a map of the planets"),
                    List.of("flew between the stars", "looked at the planets", "floated in the rocket", "counted the shining stars"),
                    List.of("the rocket ran out of fuel", "a loud alarm started to beep", "the moon rock began to glow",
                            "a comet flew too close"),
                    List.of("the robot fixed the engine", "they pressed the big green button", "a friendly alien gave them fuel",
                            "the pilot turned the rocket around"),
                    List.of("They flew home and told everyone about the stars.", "The astronauts waved goodbye to the moon.",
                            "From that day on, they explored a new planet every week.")),
            "cooking", new Domain(
                    List.of("cook", "baker", "chef", "kitchen helper"),
                    List.of("in a warm kitchen", "at a small bakery", "in a busy restaurant", "at grandma's house"),
                    List.of("a big pot", "a wooden spoon", "a bag of flour", "a red apple", "a bowl of sugar"),
                    List.of("baked bread every morning", "made soup for friends", "stirred the pot slowly", "cut the carrots into pieces"),
                    List.of("the cake started to burn", "the soup was too salty", "the flour spilled on the floor", "the oven stopped working"),
                    List.of("they added some water and honey", "grandma showed them a new recipe", "they cleaned up and started again",
                            "a friend brought a new oven"),
                    List.of("Everyone ate the food and smiled.", "The kitchen smelled sweet and warm all day.",
                            "From that day on, they cooked a new dish every week.")),
            "sports", new Domain(
                    List.of("soccer player", "runner", "swimmer", "basketball player"),
                    List.of("at the big stadium", "in the school park", "at the swimming pool", "on the green field"),
                    List.of("a new ball", "a gold medal", "a pair of fast shoes", "a team shirt", "a shiny cup"),
                    List.of("practiced every morning", "ran around the field", "kicked the ball with friends", "jumped as high as they could"),
                    List.of("the team lost the first game", "it started to rain on the field", "the ball went over the fence",
                            "a player hurt a knee"),
                    List.of("the coach told them to try again", "they passed the ball to each other", "the whole team helped",
                            "they trained harder every day"),
                    List.of("They won the big game and cheered.", "The team held the cup high and laughed.",
                            "From that day on, they played together every day.")));

    private SyntheticStories() {
    }

    public static List<String> domains() {
        return DOMAINS.keySet().stream().sorted().toList();
    }

    /** {@code n} stories of {@code domain}, the same for the same seed. */
    public static List<TrainingExample> generate(String domain, int n, long seed) {
        Domain d = DOMAINS.get(domain.toLowerCase(Locale.ROOT));
        if (d == null) {
            throw new IllegalArgumentException("unknown domain '" + domain + "' (known: " + String.join(", ", domains()) + ")");
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        List<TrainingExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String name = pick(rnd, NAMES);
            String prompt = "Once upon a time, there was a " + pick(rnd, FEELINGS) + " " + pick(rnd, d.roles) + " named " + name + ".";
            String completion = " " + name + " " + pick(rnd, d.activities) + " " + pick(rnd, d.places) + ". "
                    + name + " had " + pick(rnd, d.things) + ". One day, " + pick(rnd, d.problems) + ". "
                    + "Then " + pick(rnd, d.fixes) + ". " + pick(rnd, d.endings);
            out.add(new TrainingExample(prompt, completion));
        }
        return out;
    }

    private static String pick(SplittableRandom rnd, List<String> options) {
        return options.get(rnd.nextInt(options.size()));
    }
}
