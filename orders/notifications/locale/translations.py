"""Source of the notification catalogs (German, French, Spanish): `python translations.py` writes
each language's django.po next to this file; `manage.py compilemessages` builds the .mo files.
Kept apart from orders/locale so the status emails' words are in one reviewable place."""

from pathlib import Path

T = {
    "Your order %(number)s is on its way": (
        "Ihre Bestellung %(number)s ist unterwegs",
        "Votre commande %(number)s est en route",
        "Tu pedido %(number)s está en camino",
    ),
    "Your order %(number)s is out for delivery": (
        "Ihre Bestellung %(number)s wird heute zugestellt",
        "Votre commande %(number)s est en cours de livraison",
        "Tu pedido %(number)s está en reparto",
    ),
    "Your order %(number)s is ready for pickup": (
        "Ihre Bestellung %(number)s liegt zur Abholung bereit",
        "Votre commande %(number)s est prête à être retirée",
        "Tu pedido %(number)s está listo para recoger",
    ),
    "We missed you: delivery of order %(number)s failed": (
        "Wir haben Sie nicht angetroffen: Zustellung der Bestellung %(number)s fehlgeschlagen",
        "Nous vous avons manqué : la livraison de la commande %(number)s a échoué",
        "No te encontramos: la entrega del pedido %(number)s no fue posible",
    ),
    "A problem with the delivery of order %(number)s": (
        "Ein Problem bei der Zustellung der Bestellung %(number)s",
        "Un problème avec la livraison de la commande %(number)s",
        "Un problema con la entrega del pedido %(number)s",
    ),
    "Your order %(number)s is delayed": (
        "Ihre Bestellung %(number)s verspätet sich",
        "Votre commande %(number)s est retardée",
        "Tu pedido %(number)s se retrasa",
    ),
    "Your order %(number)s has been delivered": (
        "Ihre Bestellung %(number)s wurde zugestellt",
        "Votre commande %(number)s a été livrée",
        "Tu pedido %(number)s ha sido entregado",
    ),
    "We received your return for order %(number)s": (
        "Wir haben Ihre Rücksendung zur Bestellung %(number)s erhalten",
        "Nous avons reçu votre retour pour la commande %(number)s",
        "Hemos recibido tu devolución del pedido %(number)s",
    ),
    "Good news: order %(number)s has been handed to %(carrier)s.": (
        "Gute Nachricht: Die Bestellung %(number)s wurde an %(carrier)s übergeben.",
        "Bonne nouvelle : la commande %(number)s a été remise à %(carrier)s.",
        "Buenas noticias: el pedido %(number)s se ha entregado a %(carrier)s.",
    ),
    "Tracking number: %(number)s": (
        "Sendungsnummer: %(number)s",
        "Numéro de suivi : %(number)s",
        "Número de seguimiento: %(number)s",
    ),
    "Expected delivery: %(eta)s": (
        "Voraussichtliche Zustellung: %(eta)s",
        "Livraison prévue : %(eta)s",
        "Entrega prevista: %(eta)s",
    ),
    "Your parcel is out for delivery and should arrive today.": (
        "Ihr Paket ist in Zustellung und kommt voraussichtlich heute an.",
        "Votre colis est en cours de livraison et devrait arriver aujourd’hui.",
        "Tu paquete está en reparto y debería llegar hoy.",
    ),
    "Expected between %(start)s and %(end)s.": (
        "Erwartet zwischen %(start)s und %(end)s.",
        "Attendu entre %(start)s et %(end)s.",
        "Previsto entre las %(start)s y las %(end)s.",
    ),
    "Your parcel is waiting for you at a pickup point.": (
        "Ihr Paket wartet an einer Abholstelle auf Sie.",
        "Votre colis vous attend dans un point de retrait.",
        "Tu paquete te espera en un punto de recogida.",
    ),
    "Bring an ID and your tracking number.": (
        "Bringen Sie einen Ausweis und Ihre Sendungsnummer mit.",
        "Munissez-vous d’une pièce d’identité et de votre numéro de suivi.",
        "Lleva un documento de identidad y tu número de seguimiento.",
    ),
    "The carrier tried to deliver your parcel but could not.": (
        "Der Zusteller hat versucht, Ihr Paket zuzustellen, konnte es aber nicht.",
        "Le transporteur a tenté de livrer votre colis, sans succès.",
        "El transportista intentó entregar tu paquete, pero no pudo.",
    ),
    "What to do next: check the carrier's notice; the carrier usually tries again on the next business day. You can also arrange a new delivery on the carrier's site.": (
        "Was Sie tun können: Beachten Sie die Benachrichtigung des Zustellers; meist folgt am nächsten Werktag ein neuer Versuch. Sie können auch auf der Website des Zustellers eine neue Zustellung vereinbaren.",
        "Que faire : consultez l’avis du transporteur ; il repasse généralement le jour ouvré suivant. Vous pouvez aussi programmer une nouvelle livraison sur son site.",
        "Qué hacer: revisa el aviso del transportista; normalmente lo intenta de nuevo el siguiente día laborable. También puedes programar una nueva entrega en su web.",
    ),
    "There is a problem with the delivery of your parcel.": (
        "Bei der Zustellung Ihres Pakets gibt es ein Problem.",
        "Il y a un problème avec la livraison de votre colis.",
        "Hay un problema con la entrega de tu paquete.",
    ),
    "What to do next: nothing yet — the carrier is working on it. If nothing changes within two business days, contact us.": (
        "Was Sie tun können: vorerst nichts – der Zusteller kümmert sich darum. Ändert sich innerhalb von zwei Werktagen nichts, kontaktieren Sie uns.",
        "Que faire : rien pour l’instant, le transporteur s’en occupe. Si rien ne change sous deux jours ouvrés, contactez-nous.",
        "Qué hacer: nada por ahora; el transportista se está ocupando. Si nada cambia en dos días laborables, contáctanos.",
    ),
    "Your parcel is delayed.": (
        "Ihr Paket verspätet sich.",
        "Votre colis est retardé.",
        "Tu paquete se retrasa.",
    ),
    "It was expected on %(previous_eta)s.": (
        "Erwartet war es am %(previous_eta)s.",
        "Il était attendu le %(previous_eta)s.",
        "Estaba previsto para el %(previous_eta)s.",
    ),
    "New estimate: %(eta)s": (
        "Neue Schätzung: %(eta)s",
        "Nouvelle estimation : %(eta)s",
        "Nueva estimación: %(eta)s",
    ),
    "Your parcel has been delivered.": (
        "Ihr Paket wurde zugestellt.",
        "Votre colis a été livré.",
        "Tu paquete ha sido entregado.",
    ),
    "We have received your return. We will let you know once it has been processed.": (
        "Wir haben Ihre Rücksendung erhalten und melden uns, sobald sie bearbeitet ist.",
        "Nous avons reçu votre retour. Nous vous préviendrons dès qu’il sera traité.",
        "Hemos recibido tu devolución. Te avisaremos cuando esté procesada.",
    ),
    "Order status": ("Bestellstatus", "Statut de la commande", "Estado del pedido"),
    "Track your order": ("Bestellung verfolgen", "Suivre votre commande", "Seguir tu pedido"),
    "Shipment: %(carrier)s %(number)s": (
        "Sendung: %(carrier)s %(number)s",
        "Envoi : %(carrier)s %(number)s",
        "Envío: %(carrier)s %(number)s",
    ),
    "Latest update:": ("Letzte Meldung:", "Dernière mise à jour :", "Última actualización:"),
    "Questions? Write to %(email)s.": (
        "Fragen? Schreiben Sie an %(email)s.",
        "Des questions ? Écrivez à %(email)s.",
        "¿Preguntas? Escribe a %(email)s.",
    ),
    "You get this email because you ordered from %(shop)s.": (
        "Sie erhalten diese E-Mail, weil Sie bei %(shop)s bestellt haben.",
        "Vous recevez cet e-mail car vous avez commandé chez %(shop)s.",
        "Recibes este correo porque hiciste un pedido en %(shop)s.",
    ),
    "Stop status emails for this order": (
        "Keine Status-E-Mails mehr zu dieser Bestellung",
        "Ne plus recevoir d’e-mails de suivi pour cette commande",
        "No recibir más correos de estado de este pedido",
    ),
    "Your order status page:": (
        "Ihre Bestellstatus-Seite:",
        "Page de suivi de votre commande :",
        "Página de estado de tu pedido:",
    ),
    "Stop status emails for this order:": (
        "Keine Status-E-Mails mehr zu dieser Bestellung:",
        "Ne plus recevoir d’e-mails de suivi pour cette commande :",
        "No recibir más correos de estado de este pedido:",
    ),
    "Status emails": ("Status-E-Mails", "E-mails de suivi", "Correos de estado"),
    "You will get no more status emails": (
        "Sie erhalten keine Status-E-Mails mehr",
        "Vous ne recevrez plus d’e-mails de suivi",
        "No recibirás más correos de estado",
    ),
    "We will send no more order status emails to %(email)s from %(shop)s.": (
        "Wir senden keine Bestellstatus-E-Mails von %(shop)s mehr an %(email)s.",
        "Nous n’enverrons plus d’e-mails de suivi de %(shop)s à %(email)s.",
        "No enviaremos más correos de estado de %(shop)s a %(email)s.",
    ),
    "You will get no more status emails for this order": (
        "Sie erhalten keine Status-E-Mails mehr zu dieser Bestellung",
        "Vous ne recevrez plus d’e-mails de suivi pour cette commande",
        "No recibirás más correos de estado de este pedido",
    ),
    "We will send no more status emails about order %(number)s.": (
        "Wir senden keine Status-E-Mails mehr zur Bestellung %(number)s.",
        "Nous n’enverrons plus d’e-mails de suivi pour la commande %(number)s.",
        "No enviaremos más correos de estado del pedido %(number)s.",
    ),
    "Stop all status emails to %(email)s": (
        "Alle Status-E-Mails an %(email)s abbestellen",
        "Arrêter tous les e-mails de suivi à %(email)s",
        "Dejar de enviar correos de estado a %(email)s",
    ),
    "Stop status emails?": (
        "Status-E-Mails abbestellen?",
        "Arrêter les e-mails de suivi ?",
        "¿Dejar de recibir correos de estado?",
    ),
    "Stop emails about order %(number)s": (
        "Keine E-Mails mehr zur Bestellung %(number)s",
        "Plus d’e-mails pour la commande %(number)s",
        "No más correos del pedido %(number)s",
    ),
    "Stop all status emails to %(email)s from %(shop)s": (
        "Alle Status-E-Mails von %(shop)s an %(email)s abbestellen",
        "Arrêter tous les e-mails de suivi de %(shop)s à %(email)s",
        "Dejar de enviar correos de estado de %(shop)s a %(email)s",
    ),
    "This link is not valid": (
        "Dieser Link ist ungültig",
        "Ce lien n’est pas valide",
        "Este enlace no es válido",
    ),
    "Use the link at the bottom of one of our status emails.": (
        "Verwenden Sie den Link am Ende einer unserer Status-E-Mails.",
        "Utilisez le lien en bas de l’un de nos e-mails de suivi.",
        "Usa el enlace al final de uno de nuestros correos de estado.",
    ),
}

LANGUAGES = ("de", "fr", "es")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write() -> None:
    here = Path(__file__).parent
    for index, lang in enumerate(LANGUAGES):
        lines = [
            'msgid ""',
            'msgstr ""',
            '"Content-Type: text/plain; charset=UTF-8\\n"',
            f'"Language: {lang}\\n"',
            "",
        ]
        for msgid, translations in T.items():
            flag = "#, python-format\n" if "%(" in msgid else ""
            lines.append(f"{flag}msgid {quote(msgid)}\nmsgstr {quote(translations[index])}\n")
        target = here / lang / "LC_MESSAGES" / "django.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    write()
